"""/metrics through prometheus-client (parsed back with its own parser), request ids and JSON logs."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from fakes import InProcessRuntime
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families


def _samples(client: TestClient[Any]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    resp = client.get("/metrics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(resp.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_requests_latency_queue_load_batch_and_workers(client: TestClient[Any], runtime: InProcessRuntime) -> None:
    for i in range(2):  # two different requests: both reach the worker (a repeat would be a cache hit)
        assert client.post("/api/forecast", json={"model": "chronos-bolt-tiny", "horizon": 2, "series": [[1, 2, 3 + i], [4, 5, 6]]}).status_code == 200
    assert client.post("/api/forecast", json={"model": "chronos-bolt-tiny", "horizon": -1, "series": [[1]]}).status_code == 400
    m = _samples(client)
    model = "chronos-bolt-tiny:latest"
    assert m[("tollama_forecast_requests_total", (("model", model), ("status", "200")))] == 2
    assert m[("tollama_forecast_seconds_count", (("model", model), ("status", "200")))] == 2
    assert m[("tollama_queue_wait_seconds_count", (("model", model),))] == 2
    assert m[("tollama_model_load_seconds_count", (("model", model),))] == 1  # loaded once, then reused
    assert m[("tollama_worker_batch_series_sum", (("model", model),))] == 4
    assert m[("tollama_worker_starts_total", (("family", "chronos"),))] == 1
    assert m[("tollama_loaded_models", ())] == 1
    assert ("tollama_loaded_model_bytes", (("device", "cpu"), ("model", model))) in m
    assert m[("tollama_requests_in_flight", (("model", model),))] == 0


def test_unknown_model_names_share_one_label(client: TestClient[Any]) -> None:
    for i in range(50):
        client.post("/api/forecast", json={"model": f"random-{i}", "horizon": 2, "series": [[1, 2, 3]]})
    m = _samples(client)
    models = {dict(labels).get("model") for (name, labels) in m if name == "tollama_forecast_requests_total"}
    assert models == {"unknown"}
    assert m[("tollama_forecast_requests_total", (("model", "unknown"), ("status", "404")))] == 50


def test_worker_crash_and_restart_are_counted(client: TestClient[Any], runtime: InProcessRuntime) -> None:
    body = {"model": "chronos-bolt-tiny", "horizon": 2, "series": [[1, 2, 3]]}
    assert client.post("/api/forecast", json=body).status_code == 200
    runtime.started[-1].kill()
    assert client.post("/api/forecast", json={**body, "series": [[1, 2, 4]]}).status_code == 200  # not a repeat: the result cache has no answer
    m = _samples(client)
    assert m[("tollama_worker_crashes_total", (("family", "chronos"),))] == 1
    assert m[("tollama_worker_restarts_total", (("family", "chronos"),))] == 1
    assert m[("tollama_worker_starts_total", (("family", "chronos"),))] == 2


def test_request_id_is_taken_or_made_echoed_and_passed_to_the_worker(client: TestClient[Any], runtime: InProcessRuntime,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx

    seen: list[str | None] = []
    original = httpx.AsyncClient.send

    async def spy(self: httpx.AsyncClient, request: httpx.Request, **kw: Any) -> httpx.Response:
        seen.append(request.headers.get("x-request-id"))
        return await original(self, request, **kw)

    monkeypatch.setattr(httpx.AsyncClient, "send", spy)
    body = {"model": "chronos-bolt-tiny", "horizon": 2, "series": [[1, 2, 3]]}
    resp = client.post("/api/forecast", json=body, headers={"X-Request-ID": "ci-run-42"})
    assert resp.headers["x-request-id"] == "ci-run-42"
    assert seen and set(seen) == {"ci-run-42"}  # the load and the forecast call both carried it
    made = client.get("/api/tags").headers["x-request-id"]
    assert len(made) == 32 and made != client.get("/api/tags").headers["x-request-id"]
    hostile = client.get("/api/tags", headers={"X-Request-ID": "a b\tc" + "x" * 200}).headers["x-request-id"]
    assert len(hostile) == 32  # not echoed: replaced by a made one


def test_json_logs_carry_the_request_id(client: TestClient[Any], capfd: pytest.CaptureFixture[str]) -> None:
    from tollama.logs import configure

    configure("info", "json")
    try:
        client.get("/api/tags", headers={"X-Request-ID": "trace-7"})
        client.post("/api/forecast", json={"model": "nope", "horizon": 2, "series": [[1]]}, headers={"X-Request-ID": "trace-8"})
        lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    finally:
        configure("info", "text")
    access = [rec for rec in lines if rec["logger"] == "tollama.access"]
    assert {"request_id": "trace-7", "path": "/api/tags", "status": 200, "method": "GET"}.items() <= access[0].items()
    assert access[1]["request_id"] == "trace-8" and access[1]["status"] == 404
    assert all(rec["level"] == "info" and "time" in rec for rec in access)
    logging.getLogger().handlers  # noqa: B018 - configure left one handler of its own
