"""Gateway overhead on a trivial forecast, measured in one run.

The same request (1 series × 512 points, horizon 24, the baseline `naive` model) is timed
(a) through the gateway (HTTP + JSON → validation → MessagePack → worker → back),
(b) directly against the same warm worker over its Unix socket (MessagePack), and
(c) as a direct library call inside the worker's environment (statsforecast's Naive).
Then wrk drives the gateway with 8 connections for the throughput, compared with the
~30 req/s of the earlier FastAPI tollama on the same kind of machine; the CPU time the
gateway and the worker spend per request during that run is read from /proc (on a shared
machine this is steadier than the request rate); and the gateway's resident memory is read
idle (before any request) and warm.
"""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import httpx
from _harness import RUNTIMES, children, cpu_seconds, gateway, machine, rss_mb, wrk
from tollama_kit import protocol as wire

N = 300
VALUES = [float(10 + (i % 24) + 0.01 * i) for i in range(512)]
REQUEST = {"model": "naive", "horizon": 24, "quantiles": [0.1, 0.5, 0.9], "series": [{"id": "s", "target": VALUES}]}
FASTAPI_BASELINE_RPS = 30.0

LIBRARY = r"""
import sys, time, statistics, numpy as np, pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import Naive
y = np.array([float(10 + (i % 24) + 0.01 * i) for i in range(512)])
df = pd.DataFrame({"unique_id": "s", "ds": np.arange(512), "y": y})
def call():
    return Naive().forecast(y=y, h=24, level=[80])
for _ in range(20): call()
samples = []
for _ in range(int(sys.argv[1])):
    t = time.perf_counter(); call(); samples.append((time.perf_counter() - t) * 1000)
print(statistics.median(samples))
"""


def interleaved(a: Callable[[], object], b: Callable[[], object], n: int, warmup: int = 20) -> tuple[float, float, float]:
    """p50 (ms) of ``a``, of ``b``, and of ``a - b`` over ``n`` pairs, each pair timed back to back."""
    for _ in range(warmup):
        a()
        b()
    ta, tb = [], []
    for _ in range(n):
        t = time.perf_counter()
        a()
        t1 = time.perf_counter()
        b()
        ta.append((t1 - t) * 1000)
        tb.append((time.perf_counter() - t1) * 1000)
    return statistics.median(ta), statistics.median(tb), statistics.median(x - y for x, y in zip(ta, tb, strict=True))


def main() -> None:
    print(f"machine: {machine()}")
    with gateway() as (url, proc, home):
        time.sleep(1.0)  # let the process settle before reading its idle memory
        idle = rss_mb(proc.pid)
        body = json.dumps(REQUEST).encode()
        with httpx.Client(base_url=url, timeout=60) as client:
            assert client.post("/api/forecast", content=body).status_code == 200  # start + load the worker
            digest = client.post("/api/show", json={"model": "naive"}).json()["model_info"]["tollama.digest"]
            batch = wire.ForecastBatch(key=digest, horizon=24, quantiles=[0.1, 0.5, 0.9], series=[
                wire.Series(id="s", target=__import__("array").array("f", VALUES).tobytes(), length=512)],
                options={"context_length": 512})
            payload = wire.encode(batch)
            transport = httpx.HTTPTransport(uds=str(home / "run" / "baseline.sock"))
            with httpx.Client(transport=transport, base_url="http://worker", timeout=60) as worker:
                # Interleaved, one through the gateway then one straight to the worker, so that both see the
                # same machine: on a 2-core VM the state drifts between two blocks of 300 more than the gap.
                through, direct_worker, gap = interleaved(
                    lambda: client.post("/api/forecast", content=body).raise_for_status(),
                    lambda: worker.post("/v1/forecast", content=payload, headers={"content-type": wire.CONTENT_TYPE}).raise_for_status(),
                    N,
                )
        library = float(subprocess.run([str(RUNTIMES / "baseline-cpu" / "bin" / "python"), "-c", LIBRARY, str(N)],
                                       capture_output=True, text=True, check=True).stdout.strip())
        (worker_pid,) = children(proc.pid)
        cpu0 = cpu_seconds(proc.pid), cpu_seconds(worker_pid)
        t0 = time.perf_counter()
        rps = wrk(url + "/api/forecast", body, connections=8, seconds=10)
        served = rps * (time.perf_counter() - t0)
        cpu_ms = [(cpu_seconds(pid) - before) * 1000 / served for pid, before in zip((proc.pid, worker_pid), cpu0, strict=True)]
        warm = rss_mb(proc.pid)
    print(f"trivial forecast (naive, 1×512, h=24), p50 over {N}:")
    print(f"  direct library call     {library:8.3f} ms")
    print(f"  direct worker call      {direct_worker:8.3f} ms   ({direct_worker / library:5.2f}× library)")
    print(f"  through tollama         {through:8.3f} ms   ({through / direct_worker:5.2f}× worker, +{through - direct_worker:.3f} ms gateway)")
    print(f"  gateway adds, p50 of the {N} paired differences: +{gap:.3f} ms")
    if not math.isnan(rps):
        print(f"throughput, 8 connections: {rps:8.1f} req/s   ({rps / FASTAPI_BASELINE_RPS:5.1f}× the FastAPI tollama's ~30 req/s)")
        print(f"CPU per request under wrk: gateway {cpu_ms[0]:.3f} ms, worker {cpu_ms[1]:.3f} ms "
              f"(one worker process serves at most ~{1000 / cpu_ms[1]:.0f} req/s)")
    print(f"gateway memory: {idle:.1f} MB idle, {warm:.1f} MB after the run")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
