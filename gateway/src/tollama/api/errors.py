"""Translate every failure into the one error body, in one place.

Domain errors carry their code; msgspec decoding errors become ``invalid_value`` with the
JSON path; Litestar's own errors (unknown route, method, oversized body) get codes too.
Nothing reaches the client as an unexplained 500.
"""

from __future__ import annotations

import logging
import re
from typing import Any, TypeVar

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException

from tollama.errors import Busy, InternalError, InvalidRequest, InvalidValue, TollamaError, status_of

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


def error_response(exc: TollamaError) -> Response[bytes]:
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Busy) else None
    return Response(_JSON.encode(exc.body()), status_code=status_of(exc), media_type="application/json", headers=headers)


def on_tollama_error(_: Request[Any, Any, Any], exc: TollamaError) -> Response[bytes]:
    return error_response(exc)


_HTTP_CODES = {400: "invalid_request", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large", 415: "unsupported_media_type"}


def on_http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    body = {"error": str(exc.detail), "code": code}
    return Response(_JSON.encode(body), status_code=exc.status_code, media_type="application/json", headers=exc.headers)


def on_unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.exception("unexpected error", exc_info=exc)
    return error_response(InternalError(f"internal error: {type(exc).__name__}: {exc}"))
