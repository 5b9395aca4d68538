"""``POST /api/forecast`` is one Litestar route: every request (JSON, stream, table) goes through its handler.

So the app's guards, hooks, middleware and exception handlers run on the path that serves forecasts (they
would silently not run on a shortcut beside the framework), and the answers keep the strict decoding's
errors (JSON path, limit, value) and the metrics' counts.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import install_fake
from fakes import InProcessRuntime
from litestar import Litestar
from litestar.testing import TestClient
from tollama.app import create_app
from tollama.settings import Settings
from tollama_kit.errors import OutOfMemory

LIMIT = 64 * 1024
GOOD = {
    "model": "chronos-bolt-tiny",
    "horizon": 3,
    "quantiles": [0.1, 0.5, 0.9],
    "series": [
        {"id": "sales", "target": [1, 2, 3, 4], "timestamps": ["2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30"]},
        [5, 6],
    ],
}


@pytest.fixture
def app(tmp_path: Path) -> Litestar:
    app = create_app(Settings(home=tmp_path / "home", keep_alive="5m", max_body_bytes=LIMIT), runtime=InProcessRuntime())
    for model, family in (("chronos-bolt-tiny", "chronos"), ("chronos-2", "chronos"), ("granite-ttm-r2", "granite")):
        install_fake(app.state["services"].store, model, family)
    return app


@pytest.fixture
def client(app: Litestar) -> Iterator[TestClient[Any]]:
    with TestClient(app) as c:
        yield c


CASES: dict[str, tuple[dict[str, Any], int, str | None]] = {
    "ok": ({"json": GOOD}, 200, None),
    "multivariate": ({"json": {"model": "chronos-2", "horizon": 2, "series": [{"id": "m", "target": [[1, 2], [10, 20]]}]}}, 200, None),
    "any content type": ({"content": json.dumps(GOOD).encode(), "headers": {"content-type": "text/plain"}}, 200, None),
    "empty body": ({"content": b""}, 400, "invalid_request"),
    "blank body": ({"content": b"  \n"}, 400, "invalid_request"),
    "not JSON": ({"content": b'{"model": '}, 400, "invalid_request"),
    "NaN": ({"content": b'{"model": "chronos-bolt-tiny", "horizon": 2, "series": [[1, NaN]]}'}, 400, "invalid_request"),
    "unknown field": ({"json": {**GOOD, "horizn": 3}}, 400, "invalid_value"),
    "wrong type": ({"json": {**GOOD, "horizon": "3"}}, 400, "invalid_value"),
    "out of limits": ({"json": {**GOOD, "horizon": 0}}, 400, "invalid_value"),
    "unknown model": ({"json": {**GOOD, "model": "no-such-model"}}, 404, "model_not_found"),
    "runtime not installed": ({"json": {**GOOD, "model": "granite-ttm-r2"}}, 409, "runtime_not_installed"),
    "too large (announced)": ({"content": b" " * (LIMIT + 1)}, 413, "payload_too_large"),
    "too large (streamed)": ({"content": iter([b" " * (LIMIT // 2)] * 3)}, 413, "payload_too_large"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_answers_and_error_codes(client: TestClient[Any], case: str) -> None:
    kwargs, status, code = CASES[case]
    resp = client.post("/api/forecast", **kwargs)
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/json"
    assert int(resp.headers["content-length"]) == len(resp.content)
    body = resp.json()
    if code is None:
        assert body["forecasts"][0]["id"] in {"sales", "m"} and body["model"].endswith(":latest")
    else:
        assert body["code"] == code and body["error"]
    if code == "invalid_value":
        assert body["path"].startswith("$.")
    if code == "payload_too_large":
        assert body["limit"] == LIMIT


def test_an_app_level_hook_and_guard_run_on_every_forecast(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What is added to the app (here a guard and a before_request hook) runs on POST /api/forecast, stream included."""
    from tollama import app as wiring

    seen: list[str] = []

    def guard(connection: Any, _: Any) -> None:
        seen.append(f"guard {connection.url.path}")

    async def before(request: Any) -> None:
        seen.append(f"before {request.url.path}")

    monkeypatch.setattr(wiring, "Litestar", functools.partial(Litestar, guards=[guard], before_request=before))
    app = create_app(Settings(home=tmp_path / "home", keep_alive="5m"), runtime=InProcessRuntime())
    install_fake(app.state["services"].store, "chronos-bolt-tiny", "chronos")
    with TestClient(app) as c:
        assert c.post("/api/forecast", json=GOOD).status_code == 200
        with c.stream("POST", "/api/forecast", json={**GOOD, "stream": True}) as resp:
            assert [json.loads(line)["status"] for line in resp.iter_lines() if line][-1] == "done"
    assert seen == ["guard /api/forecast", "before /api/forecast"] * 2


def test_worker_errors_are_counted_in_the_metrics(client: TestClient[Any], app: Litestar) -> None:
    runtime = app.state["services"].runtime
    runtime.adapter.fail_next = OutOfMemory("no room")
    resp = client.post("/api/forecast", json=GOOD)
    assert (resp.status_code, resp.json()["code"]) == (507, "out_of_memory")
    client.post("/api/forecast", json=GOOD)
    client.post("/api/forecast", json={**GOOD, "model": "no-such-model"})
    client.post("/api/forecast", content=b"{")
    counted = [ln for ln in client.get("/metrics").text.splitlines() if ln.startswith("tollama_forecast_requests_total")]
    assert 'tollama_forecast_requests_total{model="chronos-bolt-tiny:latest",status="507"} 1.0' in counted
    assert 'tollama_forecast_requests_total{model="chronos-bolt-tiny:latest",status="200"} 1.0' in counted
    assert 'tollama_forecast_requests_total{model="unknown",status="404"} 1.0' in counted  # not an installed name


def test_stream_lifecycle(client: TestClient[Any]) -> None:
    with client.stream("POST", "/api/forecast", json={**GOOD, "stream": True}) as resp:
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/x-ndjson")
        events = [json.loads(line) for line in resp.iter_lines() if line]
    assert [e["status"] for e in events] == ["queued", "loading", "running", "done"]
    assert [f["id"] for f in events[-1]["response"]["forecasts"]] == ["sales", "1"]


def test_other_methods_are_refused_by_the_framework(client: TestClient[Any]) -> None:
    resp = client.get("/api/forecast")
    assert (resp.status_code, resp.json()["code"]) == (405, "method_not_allowed")


def _raw_post(app: Litestar, headers: list[tuple[bytes, bytes]], messages: list[dict[str, Any]]) -> tuple[int, Any]:
    """Drive the ASGI app directly, for what an HTTP client will not send (a bad length, a disconnect)."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/api/forecast", "raw_path": b"/api/forecast", "query_string": b"", "root_path": "", "headers": headers,
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 2), "state": {},
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    return sent[0]["status"], json.loads(b"".join(m.get("body", b"") for m in sent[1:]))


@pytest.mark.parametrize(
    ("headers", "messages", "status", "code"),
    [
        ([(b"content-length", b"twelve")], [{"type": "http.request", "body": b"{}", "more_body": False}], 400, "invalid_request"),
        ([(b"content-length", b"100")], [{"type": "http.request", "body": b'{"mo', "more_body": True}, {"type": "http.disconnect"}],
         500, "internal_error"),
    ],
    ids=["bad content-length", "client disconnects"],
)
def test_broken_requests_get_the_framework_errors(
    app: Litestar, headers: list[tuple[bytes, bytes]], messages: list[dict[str, Any]], status: int, code: str
) -> None:
    assert _raw_post(app, headers, [dict(m) for m in messages])[0] == status
    assert _raw_post(app, headers, [dict(m) for m in messages])[1]["code"] == code
