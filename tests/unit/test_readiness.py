"""``/readyz`` over the in-process fake runtime: each check is named, a failing one makes it 503."""

from __future__ import annotations

import shutil
from typing import Any

from fakes import InProcessRuntime
from litestar.testing import TestClient


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


def test_a_dead_running_worker_fails_readiness_with_its_log(client: TestClient[Any], runtime: InProcessRuntime) -> None:
    assert client.post("/api/forecast", json={"model": "chronos-bolt-tiny", "horizon": 2, "series": [[1, 2, 3]]}).status_code == 200
    runtime.started[-1].kill()
    body = client.get("/readyz").json()
    assert body["failing"] == ["worker:chronos"]
    assert "has exited" in body["checks"]["worker:chronos"] and "fake log tail" in body["checks"]["worker:chronos"]
