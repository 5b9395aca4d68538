"""The OpenAPI document describes every operation's body, answer and errors, from the handlers' msgspec types."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient
from tollama.errors import STATUS
from tollama.evaluation.schema import EvaluateRequest
from tollama.schema import ForecastRequest, ForecastResponse


@pytest.fixture
def document(client: TestClient[Any]) -> dict[str, Any]:
    return client.get("/schema/openapi.json").json()  # type: ignore[no-any-return]


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, item in document["paths"].items() for method, op in item.items()]


def test_every_operation_has_an_answer_schema_and_error_codes_of_the_table(document: dict[str, Any]) -> None:
    operations = _operations(document)
    assert len(operations) >= 29
    assert "200" not in document["paths"]["/v2/finetune"]["post"]["responses"], "it never succeeds"
    for method, path, op in operations:
        if path == "/v2/finetune":
            continue
        ok = op["responses"]["200"]
        assert ok.get("content"), f"{method} {path}: the 200 answer has no schema"
        assert all(media.get("schema") for media in ok["content"].values()), f"{method} {path}"
        errors = {status: r for status, r in op["responses"].items() if status != "200"}
        assert "500" in errors, f"{method} {path}: internal_error is not documented"
        for status, response in errors.items():
            schema = response["content"]["application/json"]["schema"]
            if "allOf" in schema:
                codes = schema["allOf"][1]["properties"]["code"]["enum"]
                assert codes and all(STATUS[c] == int(status) for c in codes), f"{method} {path} {status}: {codes}"
        if method in {"POST", "DELETE"} and path != "/v2/finetune":
            assert op["requestBody"]["content"], f"{method} {path}: no request body"


def test_bodies_are_msgspec_schemas_of_the_handlers_types(document: dict[str, Any]) -> None:
    _, expected = msgspec.json.schema_components([ForecastRequest, ForecastResponse, EvaluateRequest],
                                                 ref_template="#/components/schemas/{name}")
    components = document["components"]["schemas"]
    for name in ("ForecastRequest", "ForecastResponse", "SeriesIn", "Options", "EvaluateRequest"):
        assert components[name] == _without_nulls(expected[name]), name
    forecast = document["paths"]["/api/forecast"]["post"]
    assert forecast["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ForecastRequest"}
    assert set(forecast["requestBody"]["content"]) == {"application/json", "text/csv", "application/vnd.apache.parquet",
                                                       "application/vnd.apache.arrow.stream", "multipart/form-data"}
    assert forecast["responses"]["200"]["content"]["application/x-ndjson"]["schema"] == {"$ref": "#/components/schemas/StreamEvent"}
    busy = forecast["responses"]["503"]
    assert "Retry-After" in busy["headers"] and "busy" in busy["content"]["application/json"]["schema"]["allOf"][1]["properties"]["code"]["enum"]


def _without_nulls(value: Any) -> Any:
    """The document drops keys whose value is null (Litestar's serialisation): ``"default": null``."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def test_every_documented_request_body_is_the_one_the_handler_decodes(client: TestClient[Any], document: dict[str, Any]) -> None:
    """A body that breaks its documented schema (an unknown field) is refused with the documented 400."""
    for path in ("/api/forecast", "/api/validate", "/api/show", "/api/stop", "/api/evaluate"):
        resp = client.post(path, json={"no_such_field": 1})
        assert resp.status_code == 400 and resp.json()["code"] in {"invalid_value", "invalid_request"}, path
        assert "400" in document["paths"][path]["post"]["responses"]
