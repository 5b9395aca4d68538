"""The public API's shapes and lifecycle, over the in-process fake runtime."""

from __future__ import annotations

import json
from typing import Any

from fakes import HOLD_BYTES, InProcessRuntime
from litestar.testing import TestClient


def test_root_version_schema_and_metrics(client: TestClient[Any]) -> None:
    assert client.get("/").text == "tollama is running"
    assert client.get("/api/version").json()["version"]
    assert "/api/forecast" in client.get("/schema/openapi.json").json()["paths"]
    client.post("/api/forecast", json={"model": "chronos-bolt-tiny", "horizon": 2, "series": [[1, 2, 3]]})
    text = client.get("/metrics").text
    assert 'tollama_forecast_requests_total{model="chronos-bolt-tiny:latest",status="200"} 1.0' in text
    assert "tollama_loaded_models 1.0" in text


def test_forecast_response_shape(client: TestClient[Any]) -> None:
    resp = client.post("/api/forecast", json={
        "model": "chronos-bolt-tiny", "horizon": 3, "quantiles": [0.1, 0.5, 0.9],
        "series": [{"id": "sales", "target": [1, 2, 3, 4], "timestamps": ["2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30"]}, [5, 6]],
    })
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["model"] == "chronos-bolt-tiny:latest" and body["family"] == "chronos"
    assert body["digest"].startswith("sha256:")
    for key in ("load_ms", "queue_ms", "inference_ms", "total_ms"):
        assert body[key] >= 0
    sales, second = body["forecasts"]
    assert sales["id"] == "sales" and second["id"] == "1"
    assert sales["timestamps"] == ["2024-05-31", "2024-06-30", "2024-07-31"]
    assert sales["mean"] == [4.0, 4.0, 4.0]
    assert sorted(sales["quantiles"]) == ["0.1", "0.5", "0.9"]
    assert [round(v, 5) for v in sales["quantiles"]["0.1"]] == [3.6] * 3
    assert "timestamps" not in second


def test_univariate_model_splits_variates_in_best_effort(client: TestClient[Any]) -> None:
    resp = client.post("/api/forecast", json={"model": "chronos-bolt-tiny", "horizon": 2, "series": [{"id": "m", "target": [[1, 2], [10, 20]]}]})
    body = resp.json()
    assert body["forecasts"][0]["mean"] == [[2.0, 2.0], [20.0, 20.0]]
    assert any("forecast independently" in w for w in body["warnings"])


def test_multivariate_model_keeps_variates_together(client: TestClient[Any], runtime: InProcessRuntime) -> None:
    resp = client.post("/api/forecast", json={"model": "chronos-2", "horizon": 2, "series": [{"id": "m", "target": [[1, 2], [10, 20]]}]})
    assert resp.json()["forecasts"][0]["quantiles"]["0.5"] == [[2.0, 2.0], [20.0, 20.0]]
    assert runtime.adapter.calls[-1] == 1  # one series of two variates


def test_long_context_is_truncated_with_a_warning(client: TestClient[Any]) -> None:
    resp = client.post("/api/forecast", json={"model": "chronos-bolt-tiny", "horizon": 2, "options": {"context_length": 3}, "series": [[1, 2, 3, 4, 5, 6]]})
    assert any("truncated to their last 3" in w for w in resp.json()["warnings"])


def test_stream_reports_the_lifecycle_in_order(client: TestClient[Any]) -> None:
    with client.stream("POST", "/api/forecast", json={"model": "chronos-bolt-tiny", "horizon": 2, "stream": True, "series": [[1, 2, 3]]}) as resp:
        assert resp.headers["content-type"].startswith("application/x-ndjson")
        events = [json.loads(line) for line in resp.iter_lines() if line]
    assert [e["status"] for e in events] == ["queued", "loading", "running", "done"]
    assert events[-1]["response"]["forecasts"][0]["mean"] == [3.0, 3.0]


def test_stream_reports_errors_in_band(client: TestClient[Any], runtime: InProcessRuntime) -> None:
    from tollama_kit.errors import OutOfMemory

    runtime.adapter.fail_next = OutOfMemory("no room")
    with client.stream("POST", "/api/forecast", json={"model": "chronos-bolt-tiny", "horizon": 2, "stream": True, "series": [[1, 2, 3]]}) as resp:
        events = [json.loads(line) for line in resp.iter_lines() if line]
    assert events[-1]["status"] == "error" and events[-1]["code"] == "out_of_memory"


def test_worker_errors_map_to_codes(client: TestClient[Any], runtime: InProcessRuntime) -> None:
    from tollama_kit.errors import OutOfMemory

    runtime.adapter.fail_next = OutOfMemory("no room")
    resp = client.post("/api/forecast", json={"model": "chronos-bolt-tiny", "horizon": 2, "series": [[1, 2, 3]]})
    assert resp.status_code == 507 and resp.json()["code"] == "out_of_memory"
    runtime.adapter.fail_next = RuntimeError("kaboom")
    resp = client.post("/api/forecast", json={"model": "chronos-bolt-tiny", "horizon": 2, "series": [[1, 2, 3]]})
    assert resp.status_code == 500 and resp.json()["code"] == "worker_error" and "kaboom" in resp.json()["error"]
    assert client.post("/api/forecast", json={"model": "chronos-bolt-tiny", "horizon": 2, "series": [[1, 2, 3]]}).status_code == 200


def test_ps_and_keep_alive_zero(client: TestClient[Any], runtime: InProcessRuntime) -> None:
    client.post("/api/forecast", json={"model": "chronos-bolt-tiny", "horizon": 2, "series": [[1, 2, 3]]})
    (entry,) = client.get("/api/ps").json()["models"]
    assert entry["name"] == "chronos-bolt-tiny:latest" and entry["family"] == "chronos" and entry["device"] == "cpu"
    assert entry["expires_at"] > "2000"
    assert 0.9 * HOLD_BYTES <= entry["size"] <= 1.5 * HOLD_BYTES  # measured RSS growth of the load, not a guess
    assert entry["size_vram"] == 0
    client.post("/api/forecast", json={"model": "chronos-bolt-tiny", "horizon": 2, "keep_alive": 0, "series": [[1, 2, 3]]})
    assert client.get("/api/ps").json()["models"] == []
    assert runtime.stopped, "the worker holding no model must be stopped"


def test_stop_unloads_now(client: TestClient[Any]) -> None:
    client.post("/api/forecast", json={"model": "chronos-bolt-tiny", "horizon": 2, "keep_alive": -1, "series": [[1, 2, 3]]})
    assert client.get("/api/ps").json()["models"][0]["expires_at"].startswith("2318")
    assert client.post("/api/stop", json={"model": "chronos-bolt-tiny"}).json()["stopped"] is True
    assert client.get("/api/ps").json()["models"] == []
    assert client.post("/api/stop", json={"model": "chronos-bolt-tiny"}).json()["stopped"] is False


def test_tags_show_copy_delete(client: TestClient[Any]) -> None:
    names = [m["name"] for m in client.get("/api/tags").json()["models"]]
    assert {"chronos-bolt-tiny:latest", "auto-ets:latest", "naive:latest"} <= set(names)
    show = client.post("/api/show", json={"model": "chronos-2"}).json()
    assert isinstance(show["license"], str) and isinstance(show["parameters"], str) and isinstance(show["modelfile"], str)
    assert "future_covariates" in show["capabilities"]
    assert show["model_info"]["tollama.capabilities.max_horizon"] == 1024
    assert client.post("/api/copy", json={"source": "chronos-2", "destination": "mine:v1"}).status_code == 200
    assert client.post("/api/show", json={"model": "mine:v1"}).status_code == 200
    assert client.request("DELETE", "/api/delete", json={"model": "mine:v1"}).status_code == 200
    resp = client.post("/api/show", json={"model": "mine:v1"})
    assert resp.status_code == 404 and resp.json()["code"] == "model_not_found"


def test_info_lists_the_catalogue_with_installed_flags(client: TestClient[Any]) -> None:
    info = client.get("/api/info").json()
    rows = {m["name"]: m for m in info["models"]}
    assert rows["chronos-2"]["installed"] and not rows["chronos-t5-large"]["installed"]
    assert rows["moirai-1.1-r-small"]["license_acceptance"] is True
    assert info["runtime"] == "fake"


def test_pull_refusals(client: TestClient[Any]) -> None:
    resp = client.post("/api/pull", json={"model": "moirai-1.1-r-small"})
    assert resp.status_code == 403 and resp.json()["code"] == "license_not_accepted"
    resp = client.post("/api/pull", json={"model": "chronos-bolt-smal"})
    assert resp.status_code == 404 and "chronos-bolt-small" in resp.json()["error"]
    resp = client.post("/api/pull", json={"model": "../x"})
    assert resp.status_code == 400 and resp.json()["code"] == "invalid_model_name"
    assert client.post("/api/pull", json={"model": "naive", "stream": False}).json() == {"status": "success"}


def test_unknown_route_and_method(client: TestClient[Any]) -> None:
    assert client.get("/api/nope").json()["code"] == "not_found"
    assert client.get("/api/forecast").json()["code"] == "method_not_allowed"
