"""The OpenAPI document's bodies: msgspec's own JSON Schema of the types the handlers decode and encode.

Handlers read their body as bytes and decode it with :func:`tollama.api.errors.decode` (strict, errors
with the JSON path), so Litestar cannot see the types from their signatures. Each route instead names
them with :func:`documented`, which returns the route's ``operation_class`` (Litestar's documented hook
for customising an operation): it sets the request body (per media type), the success response (per
media type) and one response per error status, whose ``code`` is the enum of the codes that route can
send with that status, from the one table (:data:`tollama.errors.STATUS`). :func:`attach` adds the
components, made by ``msgspec.json.schema_components`` from every type a route named, to the app's
OpenAPI document (Litestar regenerates ``components.schemas`` from signatures, which name none here).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import msgspec
from litestar import Litestar
from litestar.openapi.spec import (
    OpenAPIMediaType,
    OpenAPIResponse,
    Operation,
    Parameter,
    Reference,
    RequestBody,
    Schema,
)

from tollama.errors import STATUS

_REF = "#/components/schemas/{name}"
#: Every type a route names, by name (the components of the document).
_TYPES: dict[str, Any] = {}

#: The codes any route may answer with when API keys are set (docs/security.md).
AUTH = ("unauthorized", "forbidden")
#: Every route: a bug is a 500 with this code.
BUG = ("internal_error",)
#: A route that reads a JSON body.
BODY = ("invalid_request", "invalid_value", "payload_too_large")
#: A route that resolves a model name.
MODEL = ("invalid_model_name", "model_not_found")
#: A route that serves a forecast (validation, the scheduler, a worker).
FORECAST = (*BODY, *MODEL, "variant_not_pulled", "not_enough_history", "runtime_not_installed", "unsupported", "busy",
            "worker_error", "worker_unavailable", "out_of_memory", "conflict")
#: The long-format table door (CSV, Parquet, Arrow, multipart).
TABLES = ("invalid_table", "unsupported_media_type")

JSON = "application/json"
NDJSON = "application/x-ndjson"

#: The schema of a table body or answer, by media type.
TABLE_SCHEMA: dict[str, Schema] = {
    "text/csv": cast(Schema, {"type": "string"}),
    "application/vnd.apache.parquet": cast(Schema, {"type": "string", "format": "binary"}),
    "application/vnd.apache.arrow.stream": cast(Schema, {"type": "string", "format": "binary"}),
}
MULTIPART_SCHEMA = cast(Schema, {
    "type": "object", "required": ["data"],
    "properties": {"request": {"type": "string", "description": "the request's other fields, a JSON object"},
                   "data": {"type": "string", "format": "binary"}, "future": {"type": "string", "format": "binary"}},
})


#: The other bodies of a route with the table door, and its other answers.
TABLE_BODIES: dict[str, Schema] = {**TABLE_SCHEMA, "multipart/form-data": MULTIPART_SCHEMA}
TABLE_ANSWERS: dict[str, Schema] = dict(TABLE_SCHEMA)


class ErrorBody(msgspec.Struct, kw_only=True):
    """Every error body (docs/errors.md): ``error`` for people, ``code`` for programs, then details."""

    error: str
    code: str
    path: str | None = None
    limit: Any = None
    value: Any = None


def ref(kind: Any) -> Reference:
    """A reference to ``kind``'s component (registered for :func:`attach`)."""
    name = kind.__name__
    if _TYPES.setdefault(name, kind) is not kind:
        raise ValueError(f"two API types are named {name!r}: {_TYPES[name]!r} and {kind!r}")
    return Reference(ref=_REF.format(name=name))


def _schema(kind: Any) -> Reference | Schema:
    return cast(Schema, kind) if isinstance(kind, dict) else kind if isinstance(kind, Reference) else ref(kind)


def error_responses(codes: Sequence[str], error_type: Any = ErrorBody) -> dict[str, OpenAPIResponse]:
    """One response per status of ``codes``; the body's ``code`` is one of those codes."""
    by_status: dict[int, list[str]] = {}
    for code in dict.fromkeys(codes):
        by_status.setdefault(STATUS[code], []).append(code)
    body = ref(error_type)
    out = {}
    for status, names in sorted(by_status.items()):
        schema = cast(Schema, {"allOf": [{"$ref": body.ref}, {"type": "object", "properties": {"code": {"enum": sorted(names)}}}]})
        if error_type is not ErrorBody:
            schema = cast(Schema, {"anyOf": [{"$ref": body.ref}, {"$ref": ref(ErrorBody).ref}]})
        headers = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}} if "busy" in names else None
        out[str(status)] = OpenAPIResponse(description=", ".join(f"`{n}`" for n in sorted(names)), headers=cast(Any, headers),
                                           content={JSON: OpenAPIMediaType(schema=schema)})
    return out


def documented(
    *, body: Any = None, body_media: Mapping[str, Any] | None = None, ok: Any = None, ok_media: Mapping[str, Any] | None = None,
    errors: Sequence[str] = (), public: bool = False, error_type: Any = ErrorBody, query: Sequence[Parameter] = (),
) -> type[Operation]:
    """The ``operation_class`` of a route: ``body``/``ok`` are the JSON types of its request and 200 answer
    (``body_media``/``ok_media`` add other media types: a type, or a raw schema); ``errors`` the codes it
    sends besides the ones every route may send (auth, unless ``public``, and ``internal_error``)."""
    request: dict[str, Any] = ({JSON: body} if body is not None else {}) | dict(body_media or {})
    answer: dict[str, Any] = ({JSON: ok} if ok is not None else {}) | dict(ok_media or {})
    codes = [*errors, *([] if public else AUTH), *BUG]
    # resolved now: a wrong type fails at import, not when the document is first served
    request_content = {media: OpenAPIMediaType(schema=_schema(kind)) for media, kind in request.items()}
    answer_content = {media: OpenAPIMediaType(schema=_schema(kind)) for media, kind in answer.items()}
    error_content = error_responses(codes, error_type)

    @dataclass
    class Documented(Operation):
        def __post_init__(self) -> None:
            self.request_body = RequestBody(content=request_content, required=True) if request_content else None
            # a route that names no answer never succeeds (it only refuses): no 200 is documented
            ok = {"200": OpenAPIResponse(description="OK", content=answer_content)} if answer_content else {}
            self.responses = {**ok, **error_content}
            self.parameters = [*(self.parameters or []), *query] or None

    return Documented


def query_param(name: str, description: str, *, required: bool = False) -> Parameter:
    return Parameter(name=name, param_in="query", required=required, description=description,
                     schema=cast(Schema, {"type": "string", "minLength": 1}))


def components() -> dict[str, Any]:
    """msgspec's JSON Schema of every type a route named (and the types they refer to)."""
    kinds = [_TYPES[name] for name in sorted(_TYPES)]
    _, schemas = msgspec.json.schema_components(kinds, ref_template=_REF)
    return dict(sorted(schemas.items()))


def attach(app: Litestar) -> None:
    """Put :func:`components` into ``app``'s OpenAPI document (built here, once, and cached by Litestar)."""
    document = app.openapi_schema
    document.components.schemas = {**(document.components.schemas or {}), **components()}
