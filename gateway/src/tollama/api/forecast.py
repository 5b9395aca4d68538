"""``/api/forecast``, ``/api/validate``, ``/api/ps``, ``/api/stop``.

``POST /api/forecast`` is one Litestar handler for every request: JSON (answered at once or streamed
as NDJSON with ``"stream": true``) and the long-format table door (:mod:`tollama.api.tables`). It
reads the body itself (the framework's ``Request.body()``, under the route's limit) and decodes it
with the strict :func:`~tollama.api.errors.decode`, so its errors name the JSON path; the OpenAPI
document names its types through :func:`~tollama.api.openapi.documented`. It returns an ASGI
response built once (no ``Response`` object to convert): the app's middleware, guards, hooks and
exception handlers all run as for any other route.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.response import Stream
from litestar.types import ASGIApp, Receive, Scope, Send

from tollama.api import tables as table_api
from tollama.api.errors import decode, read_body
from tollama.api.openapi import BODY, FORECAST, MODEL, NDJSON, TABLE_ANSWERS, TABLE_BODIES, TABLES, documented
from tollama.api.streams import Put, ndjson
from tollama.errors import TollamaError, status_of
from tollama.forecasting import Emit, Forecaster
from tollama.metrics import Metrics
from tollama.models import Models
from tollama.runtime.replicas import ReplicaSet
from tollama.scheduler import Scheduler
from tollama.schema import ForecastRequest, ForecastResponse, Ps, PsReplica, StopRequest, StreamEvent, ValidateResponse

_JSON = msgspec.json.Encoder()


class Stopped(msgspec.Struct, kw_only=True):
    """``POST /api/stop``: the model, and whether a loaded copy was stopped."""

    model: str
    stopped: bool


class CountedForecaster:
    """The forecaster and the metrics its answers are counted in: the one dependency of ``POST /api/forecast``
    (one, because Litestar resolves two or more in a task group, which cost ~0.1 ms per request)."""

    def __init__(self, forecaster: Forecaster, metrics: Metrics) -> None:
        self.forecaster = forecaster
        self.metrics = metrics

    async def forecast(self, req: ForecastRequest, emit: Emit | None = None) -> ForecastResponse:
        """One forecast, counted in the metrics with its status (a :class:`TollamaError` is re-raised)."""
        t0 = time.perf_counter()
        try:
            resp = await self.forecaster.forecast(req, emit)
        except TollamaError as exc:
            self.metrics.forecast_done(req.model, status_of(exc), time.perf_counter() - t0)
            raise
        self.metrics.forecast_done(resp.model, 200, time.perf_counter() - t0, installed=True)
        if not resp.cached:  # a cache hit leased no worker: nothing to count as served
            self.metrics.served(resp.model, queue_ms=resp.queue_ms, load_ms=resp.load_ms, series=len(resp.forecasts))
        return resp


def _json(obj: Any, status: int = 200) -> Response[bytes]:
    return Response(_JSON.encode(obj), status_code=status, media_type="application/json")


@post(
    "/api/forecast", status_code=200,
    operation_class=documented(body=ForecastRequest, body_media=TABLE_BODIES, ok=ForecastResponse, ok_media={NDJSON: StreamEvent, **TABLE_ANSWERS},
                               errors=(*FORECAST, *TABLES)),
)
async def forecast(request: Request[Any, Any, Any], counted_forecaster: NamedDependency[CountedForecaster]) -> ASGIApp:
    """A forecast: JSON in (``stream: true`` answers NDJSON progress lines, then the response), or a
    CSV/Parquet/Arrow/multipart table with the other fields in the query string; ``Accept`` picks a
    table answer."""
    content_type, accept = _content_type_and_accept(request.scope["headers"])
    names = None
    if content_type and table_api.is_table_body(content_type):
        req, names = await table_api.read_request(request)
    else:
        req = decode(await read_body(request), ForecastRequest)
    answer = table_api.answer_format(accept) if accept else None
    if req.stream and answer is None:
        return Stream(_stream(counted_forecaster, req), media_type=NDJSON).to_asgi_response(app=None, request=request)
    resp = await counted_forecaster.forecast(req)
    if answer is not None:
        return table_api.table_response(resp, answer, names).to_asgi_response(app=None, request=request)
    return JSONAnswer(_JSON.encode(resp))


def _content_type_and_accept(headers: Iterable[tuple[bytes, bytes]]) -> tuple[str, str]:
    content_type = accept = b""
    for name, value in headers:
        if name == b"content-type":
            content_type = value
        elif name == b"accept":
            accept = value
    return content_type.decode("latin-1"), accept.decode("latin-1")


class JSONAnswer:
    """A 200 JSON answer as an ASGI app (a handler may return one): the two messages, no response object
    (Litestar's ``ASGIResponse`` builds a mutable header set per answer, ~0.05 ms here)."""

    __slots__ = ("body",)

    def __init__(self, body: bytes) -> None:
        self.body = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(self.body)).encode())]})
        await send({"type": "http.response.body", "body": self.body, "more_body": False})


def _stream(counted: CountedForecaster, req: ForecastRequest) -> AsyncIterator[bytes]:
    async def work(put: Put) -> bytes:
        def emit(status: str) -> None:
            put(_JSON.encode(StreamEvent(status=status, model=req.model)) + b"\n")  # type: ignore[arg-type]

        resp = await counted.forecast(req, emit)
        return _JSON.encode(StreamEvent(status="done", model=req.model, response=resp)) + b"\n"

    return ndjson(work)


@post("/api/validate", status_code=200, operation_class=documented(body=ForecastRequest, ok=ValidateResponse, errors=(*BODY, *MODEL, "variant_not_pulled", "unsupported")))
async def validate_request(request: Request[Any, Any, Any], forecaster: NamedDependency[Forecaster]) -> Response[bytes]:
    return _json(forecaster.dry_run(decode(await read_body(request), ForecastRequest)))


@get("/api/ps", sync_to_thread=False, operation_class=documented(ok=Ps))
def ps(scheduler: NamedDependency[Scheduler], models: NamedDependency[Models]) -> Response[bytes]:
    now = scheduler.clock()
    replicas = {
        family: [PsReplica(url=r.url, healthy=r.healthy, outstanding=r.outstanding, served=r.served, ejections=r.ejections,
                           loaded=len(r.loaded), reason=r.reason) for r in handle.replicas.values()]
        for family, handle in sorted(scheduler.running().items()) if isinstance(handle, ReplicaSet)
    }
    return _json(Ps(models=[models.ps_entry(slot, now) for slot in scheduler.loaded()], failing=scheduler.crash_policy.failing_families(),
                    replicas=replicas))


@post("/api/stop", status_code=200, operation_class=documented(body=StopRequest, ok=Stopped, errors=(*BODY, *MODEL)))
async def stop(request: Request[Any, Any, Any], scheduler: NamedDependency[Scheduler], models: NamedDependency[Models]) -> Response[bytes]:
    req = decode(await read_body(request), StopRequest)
    resolved = models.resolve(req.ref())
    scheduler.crash_policy.reset(resolved.entry.family)  # `tollama stop` also clears a failing family
    stopped = await scheduler.stop_model(resolved.digest)
    return _json(Stopped(model=resolved.ref.full, stopped=stopped))


ROUTES = [forecast, validate_request, ps, stop]
