"""tollama against the anchor (the earlier tollama project's FastAPI daemon) on the same trivial forecast,
measured in one run: ``python bench/anchor.py --anchor-url http://127.0.0.1:PORT``.

The anchor is started by hand beforehand (docs/benchmarks.md says how: its repository installed in a
venv of its own, ``tollamad`` with its ``mock`` model pulled). This script starts a tollama gateway here
(process runtime, result cache off: every request reaches the worker) and sends both the same forecast —
1 series × 512 points, horizon 24 — tollama's through the baseline ``naive``, the anchor's through its
``mock``. Interleaved in one sitting:

* **latency**: the p50 of N sequential requests with a plain HTTP client that opens a new connection per
  request (``http.client``), as a dashboard or a shell script would;
* **throughput**: ``wrk`` with 8 connections for 10 s each;
* **where tollama's time goes**, in a last pass of sequential requests: the CPU each process (the
  client, the gateway, the worker's event loop, its adapter thread) spends per request, read from
  /proc, and the model call's own time (``inference_ms``, measured by the worker around the adapter's
  forecast). What the CPU figures do not cover of the p50 is waiting: wake-ups between the three
  processes and two threads on the way.

Prints both figures for each server and the ratios the performance issue sets (anchor p50 / tollama p50,
target ≥ 20; tollama req/s / anchor req/s, target ≥ 40).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import time
from datetime import date, timedelta
from urllib.parse import urlsplit

import httpx
from _harness import children, cpu_seconds, gateway, machine, main_thread_cpu_seconds, wrk

VALUES = [float(10 + (i % 24) + 0.01 * i) for i in range(512)]
TOLLAMA = {"model": "naive", "horizon": 24, "quantiles": [0.1, 0.5, 0.9], "series": [{"id": "s", "target": VALUES}]}
START = date(2024, 1, 1)
STAMPS = [(START + timedelta(days=i)).isoformat() for i in range(len(VALUES))]


def anchor_request(model: str) -> dict[str, object]:
    """The same series in the anchor's request shape (it requires timestamps and a frequency)."""
    return {"model": model, "horizon": 24, "quantiles": [0.1, 0.5, 0.9], "options": {}, "stream": False,
            "series": [{"id": "s", "freq": "D", "timestamps": STAMPS, "target": VALUES}]}


def post_new_connection(url: str, body: bytes) -> bytes:
    """One POST of ``body`` to ``url`` on a connection of its own; the answer's body (200 only)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    conn.request("POST", parts.path, body=body, headers={"content-type": "application/json"})
    resp = conn.getresponse()
    raw = resp.read()
    conn.close()
    if resp.status != 200:
        raise SystemExit(f"{url} answered {resp.status}")
    return raw


def p50_new_connection(url: str, body: bytes, n: int) -> float:
    """p50 (ms) of ``n`` POSTs to ``url``, each on a connection of its own."""
    samples = []
    for i in range(n + 10):
        t = time.perf_counter()
        post_new_connection(url, body)
        if i >= 10:  # the first ten warm the path
            samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


def breakdown(url: str, body: bytes, gateway_pid: int, n: int) -> None:
    """Print where one trivial forecast's time goes (module docstring), over ``n`` requests on new connections."""
    (worker,) = children(gateway_pid)
    for _ in range(10):  # warm the path, as p50_new_connection does
        post_new_connection(url, body)
    latency, answers = [], []

    def cpu() -> tuple[float, float, float, float]:
        return time.process_time(), cpu_seconds(gateway_pid), main_thread_cpu_seconds(worker), cpu_seconds(worker)

    before = cpu()
    for _ in range(n):
        t = time.perf_counter()
        answers.append(post_new_connection(url, body))
        latency.append((time.perf_counter() - t) * 1000)
    client, gw, loop, whole = (b - a for a, b in zip(before, cpu(), strict=True))
    per = {"client (http.client, this process)": client, "gateway (all threads)": gw, "worker event loop": loop,
           "worker adapter thread": whole - loop}
    inference = statistics.median(json.loads(r)["inference_ms"] for r in answers)
    p50 = statistics.median(latency)
    print(f"where tollama's time goes, {n} sequential requests on new connections: p50 {p50:.2f} ms")
    for name, seconds in per.items():
        print(f"  CPU per request, {name:36s} {seconds * 1000 / n:6.3f} ms")
    print(f"  of which the model call (inference_ms p50, adapter + library)    {inference:6.3f} ms")
    rest = p50 - sum(per.values()) * 1000 / n
    print(f"  p50 not covered by CPU (waiting: wake-ups, scheduling)           {rest:6.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--anchor-url", required=True, help="the running anchor daemon, e.g. http://127.0.0.1:11440")
    parser.add_argument("--anchor-model", default="mock")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (medians reported)")
    parser.add_argument("--breakdown", type=int, default=1000, help="requests in the last pass (0: skip it)")
    args = parser.parse_args()
    anchor_url = args.anchor_url.rstrip("/") + "/api/forecast"
    anchor_body = json.dumps(anchor_request(args.anchor_model)).encode()
    ours_body = json.dumps(TOLLAMA).encode()
    print(f"machine: {machine()}, load {os.getloadavg()[0]:.2f} at the start")
    with gateway() as (url, proc, _home), httpx.Client(base_url=url, timeout=600) as client:
        client.post("/api/pull", json={"model": "naive", "stream": False}).raise_for_status()
        client.post("/api/forecast", content=ours_body).raise_for_status()  # start the worker
        ours_url = url + "/api/forecast"
        rows: dict[str, list[float]] = {"anchor p50": [], "tollama p50": [], "anchor rps": [], "tollama rps": []}
        for _ in range(args.rounds):
            rows["anchor p50"].append(p50_new_connection(anchor_url, anchor_body, args.requests))
            rows["tollama p50"].append(p50_new_connection(ours_url, ours_body, args.requests))
            rows["anchor rps"].append(wrk(anchor_url, anchor_body))
            rows["tollama rps"].append(wrk(ours_url, ours_body))
        if args.breakdown:
            breakdown(ours_url, ours_body, proc.pid, args.breakdown)
    for name, values in rows.items():
        print(f"  {name:12s} {' / '.join(f'{v:.2f}' for v in values)}  (median {statistics.median(values):.2f})")
    latency = statistics.median(rows["anchor p50"]) / statistics.median(rows["tollama p50"])
    throughput = statistics.median(rows["tollama rps"]) / statistics.median(rows["anchor rps"])
    print(f"latency: tollama's p50 is 1/{latency:.1f} of the anchor's (target 1/20)")
    print(f"throughput, 8 connections: tollama {throughput:.1f}× the anchor (target 40×)")
    print(f"load {os.getloadavg()[0]:.2f} at the end, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")


if __name__ == "__main__":
    main()
