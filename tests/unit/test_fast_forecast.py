"""``POST /api/forecast`` served by ``FastForecast`` answers exactly as its framework handler does.

Two apps over the same fake runtime setup, one with the fast path and one without
(``create_app(..., fast_forecast=False)``), get the same requests; status, headers and body
must match (timings and the creation time aside).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import install_fake
from fakes import InProcessRuntime
from litestar import Litestar
from litestar.testing import TestClient
from tollama.api.forecast import FastForecast
from tollama.app import create_app
from tollama.settings import Settings
from tollama_kit.errors import OutOfMemory

LIMIT = 64 * 1024
VOLATILE = {"load_ms", "queue_ms", "inference_ms", "total_ms", "created_at"}
GOOD = {
    "model": "chronos-bolt-tiny",
    "horizon": 3,
    "quantiles": [0.1, 0.5, 0.9],
    "series": [
        {"id": "sales", "target": [1, 2, 3, 4], "timestamps": ["2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30"]},
        [5, 6],
    ],
}


class Side:
    def __init__(self, app: Litestar, client: TestClient[Any], runtime: InProcessRuntime) -> None:
        self.app, self.client, self.runtime = app, client, runtime
        self.fast_served = 0  # requests whose body FastForecast read


@pytest.fixture
def sides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Side]]:
    original = FastForecast._body
    out: dict[str, Side] = {}

    async def counting(self: FastForecast, scope: Any, receive: Any) -> bytes:
        side = next(s for s in out.values() if s.app.state["services"].forecaster is self.forecaster)
        side.fast_served += 1
        return await original(self, scope, receive)

    monkeypatch.setattr(FastForecast, "_body", counting)
    for name, fast in (("fast", True), ("framework", False)):
        runtime = InProcessRuntime()
        app = create_app(
            Settings(home=tmp_path / name, keep_alive="5m", max_body_bytes=LIMIT), runtime=runtime, fast_forecast=fast
        )
        store = app.state["services"].store
        for model, family in (
            ("chronos-bolt-tiny", "chronos"),
            ("chronos-2", "chronos"),
            ("granite-ttm-r2", "granite"),
        ):
            install_fake(store, model, family)
        out[name] = Side(app, TestClient(app).__enter__(), runtime)
    try:
        yield out
    finally:
        for side in out.values():
            side.client.__exit__(None, None, None)


def _shape(resp: Any) -> tuple[int, dict[str, str], Any]:
    body = resp.json()
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k not in VOLATILE}
    headers = dict(resp.headers)
    assert len(headers.pop("x-request-id")) == 32  # made per request: differs between the two paths
    if body != resp.json():
        headers.pop("content-length")  # the timings differ in length
    return resp.status_code, headers, body


CASES: dict[str, dict[str, Any]] = {
    "ok": {"json": GOOD},
    "multivariate": {
        "json": {"model": "chronos-2", "horizon": 2, "series": [{"id": "m", "target": [[1, 2], [10, 20]]}]}
    },
    "truncated context warns": {
        "json": {
            "model": "chronos-bolt-tiny",
            "horizon": 2,
            "options": {"context_length": 3},
            "series": [[1, 2, 3, 4, 5, 6]],
        }
    },
    "any content type": {"content": json.dumps(GOOD).encode(), "headers": {"content-type": "text/plain"}},
    "empty body": {"content": b""},
    "blank body": {"content": b"  \n"},
    "not JSON": {"content": b'{"model": '},
    "NaN": {"content": b'{"model": "chronos-bolt-tiny", "horizon": 2, "series": [[1, NaN]]}'},
    "unknown field": {"json": {**GOOD, "horizn": 3}},
    "wrong type": {"json": {**GOOD, "horizon": "3"}},
    "out of limits": {"json": {**GOOD, "horizon": 0}},
    "unknown model": {"json": {**GOOD, "model": "no-such-model"}},
    "runtime not installed": {"json": {**GOOD, "model": "granite-ttm-r2"}},
    "too large (announced)": {"content": b" " * (LIMIT + 1)},
    "too large (streamed)": {"content": iter([b" " * (LIMIT // 2)] * 3)},
}


@pytest.mark.parametrize("case", list(CASES))
def test_same_answer_as_the_framework_handler(sides: dict[str, Side], case: str) -> None:
    answers = {name: _shape(side.client.post("/api/forecast", **CASES[case])) for name, side in sides.items()}
    if case == "too large (streamed)":  # a generator is consumed once: send a second one to the framework side
        answers["framework"] = _shape(
            sides["framework"].client.post("/api/forecast", content=iter([b" " * (LIMIT // 2)] * 3))
        )
    assert answers["fast"] == answers["framework"]
    assert answers["fast"][0] in {200, 400, 404, 409, 413}
    assert (sides["fast"].fast_served, sides["framework"].fast_served) == (1, 0), "each app must take its own path"


def test_worker_errors_and_metrics_match(sides: dict[str, Side]) -> None:
    for side in sides.values():
        side.runtime.adapter.fail_next = OutOfMemory("no room")
    answers = {name: _shape(side.client.post("/api/forecast", json=GOOD)) for name, side in sides.items()}
    assert answers["fast"] == answers["framework"] and answers["fast"][0] == 507
    for side in sides.values():
        side.client.post("/api/forecast", json=GOOD)
        side.client.post("/api/forecast", json={**GOOD, "model": "no-such-model"})
        side.client.post("/api/forecast", content=b"{")
    counted = {
        name: [
            ln
            for ln in side.client.get("/metrics").text.splitlines()
            if ln.startswith("tollama_forecast_requests_total")
        ]
        for name, side in sides.items()
    }
    assert counted["fast"] == counted["framework"]
    assert 'tollama_forecast_requests_total{model="chronos-bolt-tiny:latest",status="507"} 1.0' in counted["fast"]
    assert 'tollama_forecast_requests_total{model="unknown",status="404"} 1.0' in counted["fast"]  # not an installed name


def test_stream_is_the_same_lifecycle(sides: dict[str, Side]) -> None:
    runs = {}
    for name, side in sides.items():
        with side.client.stream("POST", "/api/forecast", json={**GOOD, "stream": True}) as resp:
            assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/x-ndjson")
            events = [json.loads(line) for line in resp.iter_lines() if line]
        events[-1]["response"] = {k: v for k, v in events[-1]["response"].items() if k not in VOLATILE}
        runs[name] = events
    assert runs["fast"] == runs["framework"]
    assert [e["status"] for e in runs["fast"]] == ["queued", "loading", "running", "done"]
    assert (sides["fast"].fast_served, sides["framework"].fast_served) == (1, 0)


def test_other_methods_keep_the_framework_answer(sides: dict[str, Side]) -> None:
    answers = {name: _shape(side.client.get("/api/forecast")) for name, side in sides.items()}
    assert answers["fast"] == answers["framework"] and answers["fast"][0] == 405
    assert sides["fast"].fast_served == 0


def _raw_post(
    app: Litestar, headers: list[tuple[bytes, bytes]], messages: list[dict[str, Any]]
) -> tuple[int, dict[str, str], Any]:
    """Drive the ASGI app directly, for what an HTTP client will not send (a bad length, a disconnect)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/forecast",
        "raw_path": b"/api/forecast",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
        "state": {},
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    start = sent[0]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    headers.pop("x-request-id", None)  # made per request
    return start["status"], headers, json.loads(body)


@pytest.mark.parametrize(
    ("headers", "messages"),
    [
        ([(b"content-length", b"twelve")], [{"type": "http.request", "body": b"{}", "more_body": False}]),
        (
            [(b"content-length", b"100")],
            [{"type": "http.request", "body": b'{"mo', "more_body": True}, {"type": "http.disconnect"}],
        ),
    ],
    ids=["bad content-length", "client disconnects"],
)
def test_broken_requests_get_the_framework_errors(
    sides: dict[str, Side], headers: list[tuple[bytes, bytes]], messages: list[dict[str, Any]]
) -> None:
    answers = {name: _raw_post(side.app, headers, [dict(m) for m in messages]) for name, side in sides.items()}
    assert answers["fast"] == answers["framework"]
    assert sides["fast"].fast_served == 1
    assert answers["fast"][0] in {400, 500} and answers["fast"][2]["code"] in {"invalid_request", "internal_error"}
