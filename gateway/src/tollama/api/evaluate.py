"""``POST /api/evaluate``: decode, evaluate (:class:`~tollama.evaluation.evaluator.Evaluator`), encode.

Decoding is :func:`decode_evaluate` so that other doors (CSV/Parquet bodies) hand the evaluator an
already decoded :class:`~tollama.evaluation.schema.EvaluateRequest`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.response import Stream

from tollama.api.errors import decode
from tollama.errors import InternalError, TollamaError
from tollama.evaluation.evaluator import Evaluator
from tollama.evaluation.schema import EvaluateEvent, EvaluateRequest

_JSON = msgspec.json.Encoder()


def decode_evaluate(body: bytes) -> EvaluateRequest:
    return decode(body, EvaluateRequest)


@post("/api/evaluate", status_code=200)
async def evaluate(request: Request[Any, Any, Any], evaluator: NamedDependency[Evaluator]) -> Response[bytes] | Stream:
    req = decode_evaluate(await request.body())
    if req.stream:
        evaluator.plan(req)  # a bad request is a 4xx status, not an in-band error
        return Stream(_stream(evaluator, req), media_type="application/x-ndjson")
    return Response(_JSON.encode(await evaluator.evaluate(req)), media_type="application/json")


async def _stream(evaluator: Evaluator, req: EvaluateRequest) -> AsyncIterator[bytes]:
    events: asyncio.Queue[EvaluateEvent | None] = asyncio.Queue()

    async def run() -> None:
        try:
            events.put_nowait(EvaluateEvent(status="done", response=await evaluator.evaluate(req, events.put_nowait)))
        except TollamaError as exc:
            events.put_nowait(EvaluateEvent(status="error", error=exc.message, code=exc.code, details=exc.details or None))
        except Exception as exc:  # noqa: BLE001 - reported in-stream, the status line is gone
            err = InternalError(f"internal error: {type(exc).__name__}: {exc}")
            events.put_nowait(EvaluateEvent(status="error", error=err.message, code=err.code))
        finally:
            events.put_nowait(None)

    task = asyncio.get_running_loop().create_task(run())
    try:
        while (event := await events.get()) is not None:
            yield _JSON.encode(event) + b"\n"
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


ROUTES = [evaluate]
