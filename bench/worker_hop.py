"""The gateway → worker hop alone: tollama's hand-written HTTP/1.1 client vs httpx over a Unix socket.

One real baseline worker (``python -m tollama_kit --family baseline --uds ...``) serves both
clients in the same run; rounds alternate between them so a shared machine's load falls on
both alike. Each sample is one ``WorkerClient.forecast`` of the trivial batch (1 series × 512
points, horizon 24, quantiles 0.1/0.5/0.9, the ``naive`` model). Prints p50 and p90 per client
and their ratio, and the CPU time the gateway side spends per forecast (steadier than latency
on a loaded machine). ``python bench/worker_hop.py [ROUNDS]`` in ``.venv`` with the baseline
environment built (``python scripts/family_env.py baseline``).
"""

from __future__ import annotations

import array
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _harness import RUNTIMES, machine
from tollama.worker_client import WorkerClient
from tollama.worker_http import RawClient
from tollama_kit import protocol as wire

PER_ROUND = 100
VALUES = array.array("f", [float(10 + (i % 24) + 0.01 * i) for i in range(512)]).tobytes()


CPU: dict[str, float] = {}


async def _samples(client: WorkerClient, batch: wire.ForecastBatch, n: int, name: str = "") -> list[float]:
    out = []
    cpu0 = time.process_time()
    for _ in range(n):
        t0 = time.perf_counter()
        await client.forecast(batch)
        out.append((time.perf_counter() - t0) * 1000)
    CPU[name] = CPU.get(name, 0.0) + time.process_time() - cpu0
    return out


async def measure(sock: str, rounds: int) -> dict[str, list[float]]:
    clients = {
        "hand-written (worker_http.RawClient)": WorkerClient("baseline", RawClient(uds=sock, timeout=60)),
        "httpx AsyncHTTPTransport(uds=...)": WorkerClient(
            "baseline", httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(uds=sock), base_url="http://worker", timeout=60)
        ),
    }
    first = next(iter(clients.values()))
    await first.load(wire.LoadRequest(key="naive", name="naive", path=str(Path(sock).parent), device="cpu"))
    batch = wire.ForecastBatch(key="naive", horizon=24, quantiles=[0.1, 0.5, 0.9], series=[wire.Series(id="s", target=VALUES, length=512)])
    samples: dict[str, list[float]] = {name: [] for name in clients}
    for client in clients.values():
        await _samples(client, batch, 50)  # warm-up: connections, caches
    for _ in range(rounds):
        for name, client in clients.items():
            samples[name] += await _samples(client, batch, PER_ROUND, name)
    for client in clients.values():
        await client.aclose()
    return samples


def main() -> int:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    python = RUNTIMES / "baseline-cpu" / "bin" / "python"
    with tempfile.TemporaryDirectory() as tmp:
        sock = str(Path(tmp) / "baseline.sock")
        proc = subprocess.Popen([str(python), "-m", "tollama_kit", "--family", "baseline", "--uds", sock], stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().startswith("tollama-worker listening"), "the worker did not start"
            samples = asyncio.run(measure(sock, rounds))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"worker hop, {rounds} alternating rounds × {PER_ROUND} forecasts per client; {machine()}")
    p50 = {}
    for name, values in samples.items():
        p50[name] = statistics.median(values)
        p90 = statistics.quantiles(values, n=10)[-1]
        cpu = CPU[name] * 1000 / len(values)
        print(f"  {name:40s} p50 {p50[name]:7.3f} ms   p90 {p90:7.3f} ms   gateway-side CPU {cpu:6.3f} ms/forecast")
    raw, lib = p50.values()
    craw, clib = (CPU[n] * 1000 / len(samples[n]) for n in samples)
    print(f"  httpx / hand-written: p50 ratio {lib / raw:.2f} (+{lib - raw:.3f} ms), client CPU ratio {clib / craw:.2f} (+{clib - craw:.3f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
