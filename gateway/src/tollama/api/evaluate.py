"""``POST /api/evaluate``: decode, evaluate (:class:`~tollama.evaluation.evaluator.Evaluator`), encode.

A JSON body is decoded by :func:`decode_evaluate`; a long-format table body (CSV, Parquet, Arrow, or
multipart with a JSON ``request`` part, as on ``/api/forecast``) by :mod:`tollama.api.tables`, its
fields from the query string (``?models=naive,auto-ets&horizon=12&windows=3``). Both give the
evaluator the same :class:`~tollama.evaluation.schema.EvaluateRequest`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.response import Stream

from tollama.api import tables as table_api
from tollama.api.errors import decode, read_body
from tollama.api.openapi import FORECAST, NDJSON, TABLE_BODIES, TABLES, documented
from tollama.api.streams import Put, ndjson
from tollama.errors import InvalidValue
from tollama.evaluation.evaluator import Evaluator
from tollama.evaluation.schema import EvaluateEvent, EvaluateRequest, EvaluateResponse

_JSON = msgspec.json.Encoder()


def decode_evaluate(body: bytes) -> EvaluateRequest:
    return decode(body, EvaluateRequest)


async def read_evaluate(request: Request[Any, Any, Any]) -> EvaluateRequest:
    """The evaluation request of a JSON or a table body."""
    if not table_api.is_table_body(request.headers.get("content-type", "")):
        return decode_evaluate(await read_body(request))
    body = await table_api.read_table(request)
    fields = table_api.evaluate_fields(body)
    try:
        return msgspec.convert({**fields, "series": body.series}, EvaluateRequest, strict=False)
    except msgspec.ValidationError as exc:
        text = str(exc)
        path = text.rsplit("at `", 1)[1].rstrip("`") if "at `" in text else "$"
        raise InvalidValue(f"{path}: {text.split(' - at ', 1)[0]}", path=path) from None


@post("/api/evaluate", status_code=200, operation_class=documented(
    body=EvaluateRequest, body_media=TABLE_BODIES,
    ok=EvaluateResponse, ok_media={NDJSON: EvaluateEvent}, errors=(*FORECAST, *TABLES),
))
async def evaluate(request: Request[Any, Any, Any], evaluator: NamedDependency[Evaluator]) -> Response[bytes] | Stream:
    req = await read_evaluate(request)
    if req.stream:
        evaluator.plan(req)  # a bad request is a 4xx status, not an in-band error
        return Stream(_stream(evaluator, req), media_type=NDJSON)
    return Response(_JSON.encode(await evaluator.evaluate(req)), media_type="application/json")


def _stream(evaluator: Evaluator, req: EvaluateRequest) -> AsyncIterator[bytes]:
    async def work(put: Put) -> bytes:
        response = await evaluator.evaluate(req, lambda event: put(_JSON.encode(event) + b"\n"))
        return _JSON.encode(EvaluateEvent(status="done", response=response)) + b"\n"

    return ndjson(work)


ROUTES = [evaluate]
