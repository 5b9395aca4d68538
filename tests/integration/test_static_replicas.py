"""Two real baseline workers as replicas of one family behind a real ``tollama serve`` (static runtime).

Requests spread over both; one replica is killed (SIGKILL) while requests run, and none fails
(the ones that were not answered are sent to the other); it is taken out, started again at its
address, and comes back in.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import ROOT, family_python, tollama_server

FORECAST = {"model": "naive", "horizon": 3, "series": [[1.0, 2.0, 3.0, 4.0]]}


def _worker(port: int = 0) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [str(family_python("baseline")), "-m", "tollama_kit", "--family", "baseline", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("tollama-worker listening "):
            return proc, line.split()[-1]
    raise AssertionError(f"the worker exited with {proc.wait()} before listening")


@pytest.fixture
def two_workers() -> Iterator[list[tuple[subprocess.Popen[str], str]]]:
    workers = [_worker(), _worker()]
    try:
        yield workers
    finally:
        for proc, _ in workers:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)


def _replicas(base: str) -> dict[str, dict[str, Any]]:
    ps = httpx.get(f"{base}/api/ps", timeout=10).json()
    return {r["url"]: r for r in ps["replicas"].get("baseline", [])}


def _wait(what: str, check: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} within {timeout:.0f} s"
        time.sleep(0.1)


@pytest.mark.slow
def test_replicas_spread_survive_a_kill_and_come_back(
    tmp_path: Path, two_workers: list[tuple[subprocess.Popen[str], str]]
) -> None:
    (proc_a, url_a), (_, url_b) = two_workers
    spec = f"baseline={url_a},baseline={url_b}"
    # the result cache off: every repeat of FORECAST must reach a replica
    with tollama_server(tmp_path / "home", TOLLAMA_RUNTIME="static", TOLLAMA_STATIC_WORKERS=spec, TOLLAMA_CACHE_BYTES="0") as env:
        base = f"http://127.0.0.1:{env['TOLLAMA_PORT']}"
        statuses: list[int] = []
        stop = threading.Event()

        def client() -> None:
            with httpx.Client(base_url=base, timeout=60) as http:
                while not stop.is_set():
                    resp = http.post("/api/forecast", json=FORECAST)
                    statuses.append(resp.status_code)
                    assert resp.status_code == 200, resp.text

        with ThreadPoolExecutor(4) as pool:
            clients = [pool.submit(client) for _ in range(4)]
            _wait(
                "both replicas serve",
                lambda: all(r["served"] >= 5 for r in _replicas(base).values()) and len(_replicas(base)) == 2,
            )
            proc_a.kill()  # mid-run: requests are in flight on both
            proc_a.wait(timeout=30)
            before_kill = len(statuses)
            _wait("A is taken out", lambda: not _replicas(base)[url_a]["healthy"])
            served_b = _replicas(base)[url_b]["served"]
            _wait("B serves on alone", lambda: _replicas(base)[url_b]["served"] >= served_b + 20)
            # A starts again at its address and is let back in by the health checks
            port_a = int(url_a.rsplit(":", 1)[1])
            restarted, _ = _worker(port_a)
            two_workers[0] = (restarted, url_a)
            _wait("A is back in", lambda: _replicas(base)[url_a]["healthy"])
            served_a = _replicas(base)[url_a]["served"]
            _wait("A serves again", lambda: _replicas(base)[url_a]["served"] >= served_a + 5)
            stop.set()
            for c in clients:
                c.result(timeout=60)  # re-raises a client's failed request
        assert statuses and set(statuses) == {200}, f"{len(statuses)} requests, statuses {sorted(set(statuses))}"
        assert len(statuses) > before_kill
        a = _replicas(base)[url_a]
        assert a["ejections"] == 1 and a["reason"] == "ok" and a["loaded"] == 1, a
        metrics = httpx.get(f"{base}/metrics", timeout=10).text
        assert f'tollama_replica_healthy{{family="baseline",replica="{url_a}"}} 1.0' in metrics
        assert f'tollama_replica_ejections_total{{family="baseline",replica="{url_a}"}} 1.0' in metrics
        retried = re.search(r'^tollama_replica_retries_total\{family="baseline"\} (\S+)$', metrics, re.M)
        assert retried and float(retried.group(1)) >= 1, "calls sent to A after the kill were retried on B"
        ready = httpx.get(f"{base}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
