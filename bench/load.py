"""Load: N concurrent clients for a fixed time against a tollama server on loopback.

    python bench/load.py                      # starts a gateway (process runtime), 100 clients, 60 s
    python bench/load.py --extra-model chronos-bolt-small   # the same with a real family in the mix
    python bench/load.py --url http://127.0.0.1:11435 --clients 20 --seconds 30 --extra-model chronos-bolt-tiny

Each client loops over a mix of requests: forecasts of the baseline ``naive`` model (and of
``--extra-model``, a real family's model, when given: on a gateway started here it is built at its real
size with random weights by its family's library, served from a local hub and pulled, as
``bench/families.py`` does; with ``--url`` it must be pulled already), ``/api/validate``, ``/api/tags`` and
``/api/ps``. Reported: throughput, p50/p99 latency per kind, errors by HTTP status and code, and
the resident memory of the gateway and its workers after warm-up and at the end (read from
/proc when the gateway is started here, or ``--pid``). Goal: no error but 503 ``busy`` (with
``Retry-After``), and memory growth under 10% after warm-up. ``--json`` prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx
from _harness import children, gateway, machine, rss_mb
from tollama.registry import Registry
from tollama.settings import Settings

from families import HubServer, publish

VALUES = [float(10 + (i % 24) + 0.01 * i) for i in range(256)]


def _requests(extra_model: str | None) -> list[tuple[str, float, str, str, dict[str, Any] | None]]:
    """(kind, weight, method, path, body)."""
    forecast = {"horizon": 12, "quantiles": [0.1, 0.5, 0.9], "series": [{"id": "s", "target": VALUES}]}
    mix: list[tuple[str, float, str, str, dict[str, Any] | None]] = [
        ("forecast naive", 0.45, "POST", "/api/forecast", {"model": "naive", **forecast}),
        ("validate", 0.2, "POST", "/api/validate", {"model": "naive", **forecast}),
        ("tags", 0.15, "GET", "/api/tags", None),
        ("ps", 0.1, "GET", "/api/ps", None),
    ]
    if extra_model:
        mix.append((f"forecast {extra_model}", 0.1, "POST", "/api/forecast", {"model": extra_model, **forecast}))
    return mix


async def _client(http: httpx.AsyncClient, mix: list[Any], until: float, seed: int, lat: dict[str, list[float]],
                  errors: Counter[str], retry_after_missing: list[int]) -> None:
    rng = random.Random(seed)
    weights = [m[1] for m in mix]
    while time.monotonic() < until:
        kind, _, method, path, body = rng.choices(mix, weights)[0]
        t = time.perf_counter()
        try:
            resp = await http.request(method, path, json=body)
        except httpx.HTTPError as exc:
            errors[f"transport {type(exc).__name__}"] += 1
            continue
        if resp.status_code == 200:
            lat[kind].append((time.perf_counter() - t) * 1000)
            continue
        try:
            code = resp.json().get("code", "?")
        except ValueError:
            code = "?"
        errors[f"{resp.status_code} {code}"] += 1
        if code == "busy":
            if "retry-after" not in resp.headers:
                retry_after_missing.append(1)
            await asyncio.sleep(float(resp.headers.get("retry-after", "1")))


def _memory(pid: int | None) -> dict[str, float]:
    if pid is None:
        return {}
    return {"gateway_mb": rss_mb(pid), "workers_mb": sum(rss_mb(c) for c in children(pid))}


async def run(url: str, clients: int, seconds: float, warmup: float, extra_model: str | None, pid: int | None) -> dict[str, Any]:
    mix = _requests(extra_model)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:
        for kind, _, method, path, body in mix:  # start the workers and load the models first
            if kind.startswith("forecast"):
                (await http.request(method, path, json=body)).raise_for_status()
        warm: dict[str, list[float]] = defaultdict(list)
        await asyncio.gather(*(_client(http, mix, time.monotonic() + warmup, i, warm, Counter(), []) for i in range(min(clients, 8))))
        start_mem = _memory(pid)
        lat: dict[str, list[float]] = defaultdict(list)
        errors: Counter[str] = Counter()
        missing: list[int] = []
        t0 = time.monotonic()
        await asyncio.gather(*(_client(http, mix, t0 + seconds, 1000 + i, lat, errors, missing) for i in range(clients)))
        elapsed = time.monotonic() - t0
        end_mem = _memory(pid)
    ok = sum(len(v) for v in lat.values())
    kinds = {k: {"n": len(v), "p50_ms": round(statistics.median(v), 2), "p99_ms": round(_pct(v, 0.99), 2)} for k, v in sorted(lat.items())}
    unexpected = {k: n for k, n in errors.items() if not k.endswith(" busy")}
    growth = {k: round((end_mem[k] - start_mem[k]) / start_mem[k] * 100, 1) for k in start_mem if start_mem[k] > 0}
    return {
        "machine": machine(), "clients": clients, "seconds": round(elapsed, 1), "requests_ok": ok,
        "throughput_rps": round(ok / elapsed, 1), "kinds": kinds, "errors": dict(errors),
        "memory_start": start_mem, "memory_end": end_mem, "memory_growth_pct": growth,
        "goal_no_unexpected_errors": not unexpected and not missing,
        "goal_memory_growth_under_10pct": all(g < 10 for g in growth.values()) if growth else None,
    }


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running server (default: start one here, process runtime)")
    parser.add_argument("--pid", type=int, help="the running server's pid, for its memory (with --url)")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--extra-model", help="a pulled model of a real family to include in the mix")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        if args.url:
            url, pid = args.url, args.pid
        else:
            extra: dict[str, str] = {}
            if args.extra_model:
                registry = Registry.load(Settings().registry_file)
                entry = registry.get(args.extra_model)
                if entry is None:
                    raise SystemExit(f"--extra-model {args.extra_model!r} is not in the catalogue")
                hub = stack.enter_context(HubServer(repos={}))
                tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
                publish(entry.family, args.extra_model, "real", hub, registry, tmp)
                extra = {"HF_ENDPOINT": hub.endpoint}
            url, proc, _ = stack.enter_context(gateway(extra))
            pid = proc.pid
            if args.extra_model:
                httpx.post(url + "/api/pull", json={"model": args.extra_model, "stream": False, "accept_license": True},
                           timeout=3600).raise_for_status()
        result = asyncio.run(run(url, args.clients, args.seconds, args.warmup, args.extra_model, pid))
    if args.json:
        print(json.dumps(result))
    else:
        print(f"machine: {result['machine']}")
        print(f"{result['clients']} clients, {result['seconds']} s: {result['requests_ok']} ok, {result['throughput_rps']} req/s")
        for kind, row in result["kinds"].items():
            print(f"  {kind:24s} n={row['n']:6d}  p50 {row['p50_ms']:8.2f} ms  p99 {row['p99_ms']:8.2f} ms")
        print(f"errors: {result['errors'] or 'none'}")
        print(f"memory after warm-up: {result['memory_start']}; at the end: {result['memory_end']}; growth %: {result['memory_growth_pct']}")
    sys.exit(0 if result["goal_no_unexpected_errors"] else 1)


if __name__ == "__main__":
    main()
