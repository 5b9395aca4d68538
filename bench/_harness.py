"""Shared by the benchmark scripts: a real gateway process, timing loops, wrk."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
RUNTIMES = Path(os.environ.get("TOLLAMA_HOME", ROOT / ".cache" / "tollama-home")) / "runtimes"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _stat_cpu_seconds(stat: Path) -> float:
    """User + system CPU time in a /proc ``stat`` file."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    return _stat_cpu_seconds(Path(f"/proc/{pid}/stat"))


def main_thread_cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid``'s main thread (an asyncio server's event loop) so far; the
    process's other threads are :func:`cpu_seconds` minus this."""
    return _stat_cpu_seconds(Path(f"/proc/{pid}/task/{pid}/stat"))


def run_seconds(pid: int) -> float:
    """CPU time all of ``pid``'s threads have run so far, from the scheduler's nanosecond counters
    (``/proc/PID/task/*/schedstat``): fine enough for rounds of a hundred millisecond requests."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):  # a thread that ended meanwhile
            total += int((task / "schedstat").read_text().split()[0])
    return total / 1e9


def children(pid: int) -> list[int]:
    return [int(c) for task in Path(f"/proc/{pid}/task").iterdir() for c in (task / "children").read_text().split()]


@contextmanager
def gateway(extra_env: dict[str, str] | None = None) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    home = Path(tempfile.mkdtemp(prefix="tollama-bench-"))
    port = free_port()
    env = {**os.environ, "TOLLAMA_HOME": str(home), "TOLLAMA_RUNTIMES": str(RUNTIMES), "TOLLAMA_PORT": str(port),
           "TOLLAMA_LOG_LEVEL": "warning", "TOLLAMA_RUNTIME": "process",
           "TOLLAMA_CACHE_BYTES": "0",  # the benches time the worker path; bench/cache.py turns the result cache on
           **(extra_env or {})}
    proc = subprocess.Popen([sys.executable, "-m", "tollama", "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url + "/", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the gateway did not start") from None
                time.sleep(0.1)
        yield url, proc, home
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(home, ignore_errors=True)


def p50_ms(fn: Callable[[], object], n: int, warmup: int = 20) -> float:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


def wrk(url: str, body: bytes, *, connections: int = 8, seconds: int = 10) -> float:
    """Requests per second reported by wrk (POST with a JSON body); NaN when wrk is missing."""
    if shutil.which("wrk") is None:
        print("  (wrk not installed: `apt-get install wrk` for the throughput figure)")
        return float("nan")
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "post.lua"
        payload = Path(tmp) / "body.json"
        payload.write_bytes(body)
        script.write_text(
            f'local f = io.open("{payload}", "rb")\nwrk.method = "POST"\nwrk.body = f:read("*all")\nf:close()\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
            'function response(status, headers, body) if status ~= 200 then error("status " .. status) end end\n'
        )
        out = subprocess.run(["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
                             capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise RuntimeError(f"unexpected wrk output:\n{out}")


def machine() -> str:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("model name")), "?")
    return f"{os.cpu_count()} cores ({cpu}), Python {sys.version.split()[0]}"
