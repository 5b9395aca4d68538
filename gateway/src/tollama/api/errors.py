"""Translate every failure into the one error body, in one place.

Domain errors carry their code; msgspec decoding errors become ``invalid_value`` with the
JSON path; Litestar's own errors (unknown route, method, media type, oversized body) become
the domain error of their status (:data:`_FRAMEWORK`), so every response's status comes from
the one table, :data:`tollama.errors.STATUS`. Streams report an error as one line,
:func:`error_line`, the same on every stream. Nothing reaches the client as an unexplained 500.
"""

from __future__ import annotations

import logging
import re
from typing import Any, TypeVar

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge

from tollama.errors import (
    Busy,
    HttpError,
    InternalError,
    InvalidRequest,
    InvalidValue,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    TollamaError,
    UnsupportedMediaType,
    status_of,
)

T = TypeVar("T")
log = logging.getLogger("tollama.api")
_AT = re.compile(r" - at `(\$[^`]*)`$")
_JSON = msgspec.json.Encoder()


def decode(body: bytes, kind: type[T]) -> T:
    """Strictly decode a JSON body; errors name the JSON path."""
    if not body.strip():
        raise InvalidRequest("the request body is empty; send a JSON object")
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as exc:
        text = str(exc)
        m = _AT.search(text)
        path = m.group(1) if m else "$"
        message = text[: m.start()] if m else text
        if message == "Number out of range":
            message = "must be a finite number (NaN and ±Infinity are refused; send null for a missing value)"
        unknown = re.match(r"Object contains unknown field `([^`]+)`", message)
        if unknown:
            path = f"{path}.{unknown.group(1)}"
            message = f"unknown field {unknown.group(1)!r}"
        raise InvalidValue(f"{path}: {message}", path=path) from None
    except msgspec.DecodeError as exc:
        raise InvalidRequest(
            f"the request body is not valid JSON ({exc}); note that NaN and Infinity are not JSON numbers: send null for a missing value"
        ) from None


def too_large(limit: int | None, value: int | None = None) -> PayloadTooLarge:
    shown = f" ({value} bytes announced)" if value is not None else ""
    return PayloadTooLarge(
        f"the request body is over the limit of {limit} bytes{shown}; raise TOLLAMA_MAX_BODY_BYTES or send fewer series",
        limit=limit, value=value,
    )


async def read_body(request: Request[Any, Any, Any]) -> bytes:
    """The request body; over the route's limit it raises :class:`~tollama.errors.PayloadTooLarge`."""
    try:
        return await request.body()
    except RequestEntityTooLarge:
        raise too_large(request.route_handler.resolve_request_max_body_size()) from None


def error_line(exc: TollamaError) -> bytes:
    """The one in-stream error line (pull, create and forecast streams): ``{"status": "error", ...body}``."""
    return _JSON.encode({"status": "error", **exc.body()}) + b"\n"


def error_response(exc: TollamaError, extra_headers: dict[str, str] | None = None) -> Response[bytes]:
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Busy) else {}
    headers.update(extra_headers or {})
    return Response(_JSON.encode(exc.body()), status_code=status_of(exc), media_type="application/json", headers=headers or None)


def on_tollama_error(_: Request[Any, Any, Any], exc: TollamaError) -> Response[bytes]:
    return error_response(exc)


#: The domain error of each status the framework answers by itself.
_FRAMEWORK: dict[int, type[TollamaError]] = {
    400: InvalidRequest, 404: NotFound, 405: MethodNotAllowed, 415: UnsupportedMediaType, 500: InternalError,
}


def framework_error(request: Request[Any, Any, Any] | None, exc: HTTPException) -> TollamaError:
    """The domain error for a framework ``HTTPException`` (its status picks the class)."""
    if exc.status_code == 413:
        limit = request.route_handler.resolve_request_max_body_size() if request is not None else None
        return too_large(limit)
    cls = _FRAMEWORK.get(exc.status_code)
    if cls is None:
        return HttpError(str(exc.detail), http_status=exc.status_code)
    return cls(str(exc.detail))


def on_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    return error_response(framework_error(request, exc), exc.headers)


def on_unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.exception("unexpected error", exc_info=exc)
    return error_response(InternalError(f"internal error: {type(exc).__name__}: {exc}"))
