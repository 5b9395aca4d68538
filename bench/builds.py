"""Two builds of tollama on the same trivial forecast, measured in one run: ``python bench/builds.py A B``.

A and B are repository roots (a checkout and, say, ``git worktree add /tmp/before HEAD~1``). Each gets a
gateway of its own (process runtime, result cache off) whose gateway, kit and baseline sources come from
its root (``PYTHONPATH``; the worker inherits it, so it runs that root's baseline adapter in the baseline
environment), and both answer the same request — 1 series × 512 points, horizon 24, quantiles
0.1/0.5/0.9, the baseline ``naive`` — in alternating rounds of sequential requests, each on a new
connection (``http.client``), so the machine's drift falls on both alike. Prints per build the p50 and the
CPU per request of the gateway process and of its worker (all threads, from the scheduler's counters),
and B's figures over A's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from contextlib import ExitStack
from pathlib import Path

from _harness import children, gateway, machine, run_seconds
from anchor import TOLLAMA, post_new_connection

BODY = json.dumps(TOLLAMA).encode()


def sources(root: Path) -> str:
    paths = [root / "gateway" / "src", root / "families" / "kit" / "src", root / "families" / "baseline" / "src"]
    for p in paths:
        if not p.is_dir():
            raise SystemExit(f"{root} is not a tollama checkout: {p} is missing")
    return ":".join(str(p) for p in paths)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a", type=Path, help="the first build's repository root")
    parser.add_argument("b", type=Path, help="the second build's repository root")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--requests", type=int, default=100, help="sequential requests per build per round")
    args = parser.parse_args()
    print(machine())
    builds = {"A": args.a.resolve(), "B": args.b.resolve()}
    with ExitStack() as stack:
        gateways = {k: stack.enter_context(gateway({"PYTHONPATH": sources(root)})) for k, root in builds.items()}
        for url, _proc, _home in gateways.values():
            for _ in range(100):  # loads the model, warms both processes
                post_new_connection(url + "/api/forecast", BODY)
        latency: dict[str, list[float]] = {k: [] for k in builds}
        gateway_cpu: dict[str, list[float]] = {k: [] for k in builds}
        worker_cpu: dict[str, list[float]] = {k: [] for k in builds}
        for _ in range(args.rounds):
            for k, (url, proc, _home) in gateways.items():
                workers = children(proc.pid)
                g0, w0 = run_seconds(proc.pid), sum(run_seconds(w) for w in workers)
                for _ in range(args.requests):
                    t = time.perf_counter()
                    post_new_connection(url + "/api/forecast", BODY)
                    latency[k].append((time.perf_counter() - t) * 1000)
                gateway_cpu[k].append((run_seconds(proc.pid) - g0) / args.requests * 1000)
                worker_cpu[k].append((sum(run_seconds(w) for w in workers) - w0) / args.requests * 1000)
    figures = {k: (statistics.median(latency[k]), statistics.median(gateway_cpu[k]), statistics.median(worker_cpu[k])) for k in builds}
    for k, root in builds.items():
        p50, g, w = figures[k]
        print(f"  {k} {root}: p50 {p50:.3f} ms, CPU per request: gateway {g:.3f} ms, worker {w:.3f} ms")
    (pa, ga, wa), (pb, gb, wb) = figures["A"], figures["B"]
    print(f"B / A: p50 {pb / pa:.3f}, gateway CPU {gb / ga:.3f}, worker CPU {wb / wa:.3f}"
          f" ({args.rounds} alternating rounds of {args.requests} requests each)")


if __name__ == "__main__":
    main()
