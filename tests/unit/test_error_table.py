"""The one error table: every code the server sends, shared by the server, the client and the CLI."""

from __future__ import annotations

import re
import typing
from dataclasses import replace
from typing import Any

import httpx
import pytest
from error_table_check import error_code_problem, stream_line_problem
from fakes import InProcessRuntime
from litestar.testing import TestClient
from tollama import errors
from tollama.api.errors import error_line
from tollama.api.models import _ndjson
from tollama.app import create_app
from tollama.client import ApiError, Client
from tollama.pull import PullEvent
from tollama.settings import Settings
from tollama.worker_client import WORKER_CODES
from tollama_kit import protocol as wire

FORECAST = {"model": "chronos-bolt-tiny", "horizon": 2, "series": [[1.0, 2.0, 3.0]]}


def test_every_class_has_one_code_and_every_code_one_class() -> None:
    assert set(errors.CLASSES) == set(errors.STATUS)
    for code, cls in errors.CLASSES.items():
        assert cls.code == code
        line = rf"{cls.__name__}\s+{errors.STATUS[code]} {code}\b"
        assert re.search(line, errors.__doc__ or ""), f"the tree in the docstring lacks {cls.__name__} {errors.STATUS[code]} {code}"


def test_every_worker_code_maps_through_the_table() -> None:
    assert set(WORKER_CODES) == set(typing.get_args(wire.WorkerErrorCode))
    assert all(kind.code in errors.STATUS for kind, _ in WORKER_CODES.values())


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [("GET", "/api/nope", 404, "not_found"), ("GET", "/api/forecast", 405, "method_not_allowed"), ("PUT", "/api/tags", 405, "method_not_allowed")],
)
def test_framework_refusals_carry_codes_of_the_table(client: TestClient[Any], method: str, path: str, status: int, code: str) -> None:
    resp = client.request(method, path)
    assert (resp.status_code, resp.json()["code"]) == (status, code)


@pytest.mark.parametrize("path", ["/api/forecast", "/api/validate"])
def test_the_body_limit_raises_payload_too_large_naming_the_limit(settings: Settings, runtime: InProcessRuntime, path: str) -> None:
    app = create_app(replace(settings, max_body_bytes=1000), runtime=runtime)
    with TestClient(app) as c:
        resp = c.post(path, json={**FORECAST, "series": [[1.0] * 500]})
    body = resp.json()
    assert (resp.status_code, body["code"], body["limit"]) == (413, "payload_too_large", 1000)
    assert "1000 bytes" in body["error"] and "TOLLAMA_MAX_BODY_BYTES" in body["error"]


def test_the_client_raises_the_class_of_the_code(client: TestClient[Any], runtime: InProcessRuntime) -> None:
    from tollama_kit.errors import OutOfMemory

    api = Client(http=client)
    with pytest.raises(errors.ModelNotFound) as missing:
        api.show("no-such-model")
    assert isinstance(missing.value, ApiError) and missing.value.status == 404 and missing.value.code == "model_not_found"
    with pytest.raises(errors.InvalidValue) as bad:
        api.forecast({**FORECAST, "horizon": 0})
    assert bad.value.details["path"] == "$.horizon"
    runtime.adapter.fail_next = OutOfMemory("no room")
    with pytest.raises(errors.WorkerOutOfMemory) as oom:
        list(api.forecast_stream(FORECAST))
    assert oom.value.status == 507, "an in-stream error takes its code's status, not 500"
    assert [e["status"] for e in api.forecast_stream(FORECAST)][-1] == "done"


@pytest.mark.foreign_errors
def test_an_unknown_code_from_a_newer_server_is_still_an_api_error() -> None:
    def answer(_: httpx.Request) -> httpx.Response:
        return httpx.Response(418, json={"error": "teapot", "code": "brewing"})

    with Client(http=httpx.Client(transport=httpx.MockTransport(answer), base_url="http://x")) as api, pytest.raises(ApiError) as exc:
        api.tags()
    assert (exc.value.status, exc.value.code, str(exc.value)) == (418, "brewing", "teapot")


async def test_pull_and_forecast_streams_send_the_same_error_line() -> None:
    async def failing() -> typing.AsyncIterator[PullEvent]:
        yield PullEvent(status="pulling manifest")
        raise errors.IntegrityError("digest mismatch", digest="sha256:ab")

    class NoModels:
        def changed(self) -> None:
            pass

    lines = [line async for line in _ndjson(PullEvent(status="pulling"), failing(), NoModels())]  # type: ignore[arg-type]
    assert lines[-1] == error_line(errors.IntegrityError("digest mismatch", digest="sha256:ab"))
    assert stream_line_problem(lines[-1].decode()) is None


def test_the_check_flags_responses_outside_the_table() -> None:
    request = httpx.Request("GET", "http://testserver.local/api/tags")

    def resp(status: int, body: bytes, kind: str = "application/json") -> httpx.Response:
        return httpx.Response(status, content=body, headers={"content-type": kind}, request=request)

    assert error_code_problem(resp(404, b'{"error": "x", "code": "model_not_found"}')) is None
    assert "not in the error table" in str(error_code_problem(resp(404, b'{"error": "x", "code": "nope"}')))
    assert "the table says 404" in str(error_code_problem(resp(500, b'{"error": "x", "code": "model_not_found"}')))
    assert "without an error code" in str(error_code_problem(resp(400, b'{"error": "x"}')))
    assert "stream error line" in str(error_code_problem(resp(200, b'{"status": "a"}\n{"error": "x"}\n', "application/x-ndjson")))
