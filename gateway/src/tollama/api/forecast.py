"""``/api/forecast``, ``/api/validate``, ``/api/ps``, ``/api/stop``."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.response import Stream

from tollama.api.errors import decode
from tollama.errors import InternalError, TollamaError, status_of
from tollama.forecasting import Forecaster
from tollama.metrics import Metrics
from tollama.models import Models
from tollama.scheduler import Scheduler
from tollama.schema import ForecastRequest, Ps, StopRequest, StreamEvent

_JSON = msgspec.json.Encoder()
_NDJSON = "application/x-ndjson"


def _json(obj: Any, status: int = 200) -> Response[bytes]:
    return Response(_JSON.encode(obj), status_code=status, media_type="application/json")


@post("/api/forecast", status_code=200)
async def forecast(request: Request[Any, Any, Any], forecaster: NamedDependency[Forecaster], metrics: NamedDependency[Metrics]) -> Response[bytes] | Stream:
    req = decode(await request.body(), ForecastRequest)
    if req.stream:
        return Stream(_stream(forecaster, req, metrics), media_type=_NDJSON)
    t0 = time.perf_counter()
    try:
        resp = await forecaster.forecast(req)
    except TollamaError as exc:
        metrics.forecast_done(req.model, status_of(exc), time.perf_counter() - t0)
        raise
    metrics.forecast_done(req.model, 200, time.perf_counter() - t0)
    return _json(resp)


async def _stream(forecaster: NamedDependency[Forecaster], req: ForecastRequest, metrics: NamedDependency[Metrics]) -> AsyncIterator[bytes]:
    events: asyncio.Queue[StreamEvent | None] = asyncio.Queue()

    def emit(status: str) -> None:
        events.put_nowait(StreamEvent(status=status, model=req.model))  # type: ignore[arg-type]

    async def run() -> None:
        t0 = time.perf_counter()
        try:
            resp = await forecaster.forecast(req, emit)
            metrics.forecast_done(req.model, 200, time.perf_counter() - t0)
            events.put_nowait(StreamEvent(status="done", model=req.model, response=resp))
        except TollamaError as exc:
            metrics.forecast_done(req.model, status_of(exc), time.perf_counter() - t0)
            events.put_nowait(StreamEvent(status="error", error=exc.message, code=exc.code))
        except Exception as exc:  # noqa: BLE001 - reported in-stream, the status line is gone
            err = InternalError(f"internal error: {type(exc).__name__}: {exc}")
            events.put_nowait(StreamEvent(status="error", error=err.message, code=err.code))
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


@post("/api/validate", status_code=200)
async def validate_request(request: Request[Any, Any, Any], forecaster: NamedDependency[Forecaster]) -> Response[bytes]:
    return _json(forecaster.dry_run(decode(await request.body(), ForecastRequest)))


@get("/api/ps", sync_to_thread=False)
def ps(scheduler: NamedDependency[Scheduler], models: NamedDependency[Models]) -> Response[bytes]:
    now = scheduler.clock()
    return _json(Ps(models=[models.ps_entry(slot, now) for slot in scheduler.loaded()]))


@post("/api/stop", status_code=200)
async def stop(request: Request[Any, Any, Any], scheduler: NamedDependency[Scheduler], models: NamedDependency[Models]) -> Response[bytes]:
    req = decode(await request.body(), StopRequest)
    resolved = models.resolve(req.ref())
    stopped = await scheduler.stop_model(resolved.digest)
    return _json({"model": resolved.ref.full, "stopped": stopped})


ROUTES = [forecast, validate_request, ps, stop]
