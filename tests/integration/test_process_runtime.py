"""The process runtime with real worker processes (the baseline family: no weights needed)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import RUNTIMES, family_python
from litestar.testing import TestClient
from tollama.app import create_app
from tollama.errors import WorkerUnavailable
from tollama.runtime.process import ProcessRuntime
from tollama.settings import Settings


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[tuple[TestClient[Any], Any]]:
    family_python("baseline")
    app = create_app(Settings(home=tmp_path / "home", runtimes=RUNTIMES, keep_alive="10m", runtime="process"))
    with TestClient(app, timeout=300) as client:
        yield client, app.state["services"]


def _worker_pid(services: Any) -> int:
    (slot,) = services.scheduler.loaded()
    return int(slot.worker.handle.proc.pid)


def test_baseline_forecast_in_a_real_worker_process(gateway: tuple[TestClient[Any], Any]) -> None:
    client, services = gateway
    resp = client.post("/api/forecast", json={"model": "naive", "horizon": 3, "series": [[1.0, 2.0, 5.0]]})
    assert resp.status_code == 200, resp.text
    assert resp.json()["forecasts"][0]["mean"] == [5.0, 5.0, 5.0]
    pid = _worker_pid(services)
    os.kill(pid, 0)  # a real process
    (entry,) = client.get("/api/ps").json()["models"]
    assert entry["family"] == "baseline"
    assert client.post("/api/stop", json={"model": "naive"}).json()["stopped"]
    with pytest.raises(ProcessLookupError):  # stopped and reaped before /api/stop answered
        os.kill(pid, 0)


def test_ten_concurrent_first_requests_load_once(gateway: tuple[TestClient[Any], Any]) -> None:
    client, services = gateway

    async def burst() -> list[int]:
        import httpx

        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw", timeout=300) as ac:
            resps = await asyncio.gather(*(ac.post("/api/forecast", json={"model": "seasonal-naive", "horizon": 2, "series": [[1.0, 2.0, 3.0, 4.0]]}) for _ in range(10)))
        return [r.status_code for r in resps]

    assert client.blocking_portal.call(burst) == [200] * 10  # type: ignore[union-attr]
    assert services.scheduler.starts == 1 and services.scheduler.loads == 1


def test_worker_killed_during_a_request_then_recovers(gateway: tuple[TestClient[Any], Any]) -> None:
    client, services = gateway
    small = {"model": "auto-ets", "horizon": 2, "series": [[float(v % 5) for v in range(30)]]}
    assert client.post("/api/forecast", json=small).status_code == 200
    pid = _worker_pid(services)
    heavy = {"model": "auto-ets", "horizon": 12, "series": [{"id": str(i), "target": [float((i * 7 + t) % 13) for t in range(300)]} for i in range(3000)]}

    async def kill_mid_request() -> Any:
        import httpx

        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw", timeout=300) as ac:
            pending = asyncio.ensure_future(ac.post("/api/forecast", json=heavy))
            await asyncio.sleep(1.0)
            assert not pending.done(), "the heavy request should still be running"
            os.kill(pid, signal.SIGKILL)
            return await pending

    resp = client.blocking_portal.call(kill_mid_request)  # type: ignore[union-attr]
    assert resp.status_code == 503, resp.text
    assert resp.json()["code"] == "worker_unavailable"
    again = client.post("/api/forecast", json={**small, "horizon": 3})  # not `small` again: that one is cached
    assert again.status_code == 200, again.text
    assert _worker_pid(services) != pid


async def test_worker_start_failure_carries_its_log_tail(tmp_path: Path) -> None:
    python = family_python("baseline")
    broken = tmp_path / "runtimes" / "nosuchfamily-cpu" / "bin"
    broken.mkdir(parents=True)
    (broken / "python").symlink_to(python)
    runtime = ProcessRuntime(tmp_path / "runtimes", tmp_path / "run", start_timeout=60)
    with pytest.raises(WorkerUnavailable) as info:
        await runtime.start("nosuchfamily")
    assert "exited" in info.value.message
    assert "No module named tollama" in info.value.details["log_tail"]
    await runtime.close()
