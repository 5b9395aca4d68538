"""Measured memory, eviction and refusal with real baseline worker processes (process runtime)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import RUNTIMES, family_python
from litestar.testing import TestClient
from tollama.app import create_app
from tollama.settings import Settings

BODY = {"horizon": 3, "series": [[1, 2, 3, 4, 5, 6, 7, 8]]}


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[tuple[TestClient[Any], Any]]:
    family_python("baseline")
    app = create_app(Settings(home=tmp_path / "home", runtimes=RUNTIMES, runtime="process", keep_alive="10m", max_loaded_models=0))
    with TestClient(app, timeout=300) as client:
        yield client, app.state["services"]


def test_measured_sizes_eviction_and_refusal(gateway: tuple[TestClient[Any], Any]) -> None:
    client, services = gateway
    scheduler = services.scheduler
    assert client.post("/api/forecast", json={"model": "auto-ets", **BODY}).status_code == 200
    (ets,) = client.get("/api/ps").json()["models"]
    assert ets["size"] > 0 and ets["size_vram"] == 0  # the worker's measured RSS growth (it imports and builds the model)
    info_loaded = scheduler.loaded()[0]
    assert info_loaded.memory == ets["size"]

    # Room for the next model alone, not for both: the idle one is evicted (a real unload in the worker).
    spec = services.models.resolve("auto-theta").spec(services.store, "cpu")
    theta = scheduler.estimator.estimate(spec.key, spec.family, spec.size)  # registry size x the factor auto-ets measured
    scheduler.memory_budget = ets["size"] + max(theta, 1) - 1
    assert client.post("/api/forecast", json={"model": "auto-theta", **BODY}).status_code == 200
    assert [m["name"] for m in client.get("/api/ps").json()["models"]] == ["auto-theta:latest"]

    # A budget below a model's estimate: 507 out_of_memory naming the model, its estimate and the budget.
    scheduler.memory_budget = 1
    resp = client.post("/api/forecast", json={"model": "naive", **BODY})
    body = resp.json()
    assert resp.status_code == 507 and body["code"] == "out_of_memory", body
    assert body["model"] == "naive:latest" and body["budget"] == 1 and body["estimate"] > 1
    assert "naive:latest" in body["error"] and "TOLLAMA_MEMORY_BUDGET" in body["error"]
    assert [m["name"] for m in client.get("/api/ps").json()["models"]] == ["auto-theta:latest"]  # nothing was evicted for it
