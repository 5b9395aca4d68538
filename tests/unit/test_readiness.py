"""``/readyz`` over the in-process fake runtime: each check is named, a failing one makes it 503."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from fakes import InProcessRuntime
from litestar.testing import TestClient
from tollama.readiness import ReadinessCheck, handle_probes


def test_ready_after_start_with_each_check_named(client: TestClient[Any]) -> None:
    resp = client.get("/readyz")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ready", "checks": {"gateway": "ok", "store": "ok"}}


def test_a_running_worker_is_probed(client: TestClient[Any], runtime: InProcessRuntime) -> None:
    assert client.post("/api/forecast", json={"model": "chronos-bolt-tiny", "horizon": 2, "series": [[1, 2, 3]]}).status_code == 200
    assert client.get("/readyz").json()["checks"]["worker:chronos"] == "ok"


def test_an_unreadable_store_fails_readiness_naming_it(client: TestClient[Any]) -> None:
    store = client.app.state["services"].store.root
    shutil.rmtree(store)
    resp = client.get("/readyz")
    assert resp.status_code == 503
    body = resp.json()
    assert body["code"] == "not_ready" and body["failing"] == ["store"] and str(store) in body["error"]


async def test_a_dead_running_worker_fails_its_probe_with_its_log(runtime: InProcessRuntime, tmp_path: Path) -> None:
    """Until the scheduler forgets a dead worker (the reaper does, then a request starts a new one), readiness names it."""
    handle = await runtime.start("chronos")
    check = ReadinessCheck(tmp_path, runtime_probes=dict, running=lambda: handle_probes({"chronos": handle}))
    check.started = True
    assert (await check()).ok
    handle.kill()
    result = await check()
    assert result.failing == ["worker:chronos"]
    assert "has exited" in result.checks["worker:chronos"] and "fake log tail" in result.checks["worker:chronos"]
