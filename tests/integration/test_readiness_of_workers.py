"""``/readyz`` tells the truth about what can serve: a real static worker process, then killed."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import ROOT, family_python
from litestar.testing import TestClient
from tollama.app import create_app
from tollama.settings import Settings


@pytest.fixture
def static_worker() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    python = family_python("baseline")
    proc = subprocess.Popen([str(python), "-m", "tollama_kit", "--family", "baseline", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
    assert proc.stdout is not None
    for raw in proc.stdout:  # the worker prints the port the OS gave it
        if raw.startswith(b"tollama-worker listening "):
            url = raw.decode().split()[-1]
            break
    else:
        raise AssertionError(f"the static worker exited with {proc.wait()} before listening")
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
        assert time.monotonic() < deadline, "the static worker did not answer within 60 s"
        time.sleep(0.1)
    try:
        yield proc, url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def test_readyz_fails_naming_a_killed_static_worker(tmp_path: Path, static_worker: tuple[subprocess.Popen[bytes], str]) -> None:
    proc, url = static_worker
    settings = Settings(home=tmp_path / "home", runtime="static", static_workers=f"baseline={url}")
    with TestClient(create_app(settings), timeout=60) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"gateway": "ok", "store": "ok", "worker:baseline": "ok"}
        resp = client.post("/api/forecast", json={"model": "naive", "horizon": 2, "series": [[1, 2, 3]]})
        assert resp.status_code == 200, resp.text

        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        not_ready = client.get("/readyz")
        assert not_ready.status_code == 503
        body: dict[str, Any] = not_ready.json()
        assert body["code"] == "not_ready" and body["failing"] == ["worker:baseline"]
        assert "baseline" in body["error"] and body["checks"]["store"] == "ok"
        failed = client.post("/api/forecast", json={"model": "naive", "horizon": 2, "series": [[1, 2, 4]]})
        assert failed.status_code == 503 and failed.json()["code"] == "worker_unavailable"
        repeat = client.post("/api/forecast", json={"model": "naive", "horizon": 2, "series": [[1, 2, 3]]})
        assert repeat.status_code == 200 and repeat.json()["cached"] is True  # the result cache needs no worker
