"""``/api/forecast``, ``/api/validate``, ``/api/ps``, ``/api/stop``.

``POST /api/forecast`` is the hot path: :class:`FastForecast`, wired as that route's
middleware, serves it straight from ASGI (the same strict decoding, limits, errors and
headers as the handler below, which stays the route's declaration in the OpenAPI schema and
serves streaming requests).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any, TypedDict

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.enums import ScopeType
from litestar.exceptions import ClientException, InternalServerException
from litestar.handlers import HTTPRouteHandler
from litestar.middleware import DefineMiddleware
from litestar.response import Stream
from litestar.types import ASGIApp, HTTPRequestEvent, Receive, ReceiveMessage, Scope, Send

from tollama.api import tables as table_api
from tollama.api.errors import decode, read_body, too_large
from tollama.api.streams import Put, ndjson
from tollama.errors import TollamaError, status_of
from tollama.forecasting import Emit, Forecaster
from tollama.metrics import Metrics
from tollama.models import Models
from tollama.runtime.replicas import ReplicaSet
from tollama.scheduler import Scheduler
from tollama.schema import ForecastRequest, ForecastResponse, Ps, PsReplica, StopRequest, StreamEvent

_JSON = msgspec.json.Encoder()
_NDJSON = "application/x-ndjson"


def _json(obj: Any, status: int = 200) -> Response[bytes]:
    return Response(_JSON.encode(obj), status_code=status, media_type="application/json")


async def forecast(request: Request[Any, Any, Any], forecaster: NamedDependency[Forecaster], metrics: NamedDependency[Metrics]) -> Response[bytes] | Stream:
    names = None
    if table_api.is_table_body(request.headers.get("content-type", "")):
        req, names = await table_api.read_request(request)
    else:
        req = decode(await read_body(request), ForecastRequest)
    answer = table_api.answer_format(request.headers.get("accept", ""))
    if req.stream and answer is None:
        return Stream(_stream(forecaster, req, metrics), media_type=_NDJSON)
    resp = await _counted(forecaster, metrics, req)
    return _json(resp) if answer is None else table_api.table_response(resp, answer, names)


async def _counted(forecaster: Forecaster, metrics: Metrics, req: ForecastRequest, emit: Emit | None = None) -> ForecastResponse:
    """One forecast, counted in the metrics with its status (a :class:`TollamaError` is re-raised)."""
    t0 = time.perf_counter()
    try:
        resp = await forecaster.forecast(req, emit)
    except TollamaError as exc:
        metrics.forecast_done(req.model, status_of(exc), time.perf_counter() - t0)
        raise
    metrics.forecast_done(resp.model, 200, time.perf_counter() - t0, installed=True)
    metrics.served(resp.model, queue_ms=resp.queue_ms, load_ms=resp.load_ms, series=len(resp.forecasts))
    return resp


class FastForecastConfig(TypedDict):
    forecaster: Forecaster
    metrics: Metrics
    max_body_bytes: int


class FastForecast:
    """``POST /api/forecast`` without the framework's per-request machinery.

    A trivial forecast costs about a millisecond of CPU in the gateway, and the framework's
    request object, signature model, dependency resolution and response object were about
    a third of it (1.25 -> 0.85-0.93 ms per request under wrk, measured). This middleware serves the route's non-streaming requests itself with the
    handler's exact steps: the body is read under the same limit (the framework's own
    exceptions, so its error handlers answer as before), decoded by the same strict
    :func:`~tollama.api.errors.decode`, forecast, counted in the metrics and encoded with the
    same headers. Errors propagate to the app's exception handlers unchanged. Streaming
    requests are replayed to the handler, whose ``Stream`` response owns disconnects.
    """

    def __init__(self, app: ASGIApp, *, forecaster: Forecaster, metrics: Metrics, max_body_bytes: int) -> None:
        self.app = app
        self.forecaster = forecaster
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["method"] != "POST" or _table_door(scope):
            await self.app(scope, receive, send)
            return
        body = await self._body(scope, receive)
        req = decode(body, ForecastRequest)
        if req.stream:
            await self.app(scope, _replay(body, receive), send)
            return
        payload = _JSON.encode(await _counted(self.forecaster, self.metrics, req))
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload, "more_body": False})

    async def _body(self, scope: Scope, receive: Receive) -> bytes:
        """The body, refused as the framework's ``Request.body()`` refuses it (limit, bad length, disconnect)."""
        announced = next((value for name, value in scope["headers"] if name == b"content-length"), None)
        if announced is not None:
            try:
                length = int(announced)
            except ValueError:
                raise ClientException(f"Invalid content-length: {announced.decode('latin-1')!r}") from None
            if length > self.max_body_bytes:
                raise too_large(self.max_body_bytes)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise InternalServerException("client disconnected prematurely")
            if message["type"] != "http.request":
                continue
            if chunk := message["body"]:
                size += len(chunk)
                if size > self.max_body_bytes:
                    raise too_large(self.max_body_bytes)
                chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _table_door(scope: Scope) -> bool:
    """A table body or a table answer: the handler's long-format door serves it."""
    headers = dict(scope["headers"])
    content_type = headers.get(b"content-type", b"").decode("latin-1")
    accept = headers.get(b"accept", b"").decode("latin-1")
    return table_api.is_table_body(content_type) or table_api.wants_table(accept)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands over the already-read body once, then the connection's own events."""
    pending: list[HTTPRequestEvent] = [{"type": "http.request", "body": body, "more_body": False}]

    async def replayed() -> ReceiveMessage:
        return pending.pop() if pending else await receive()

    return replayed


def _stream(forecaster: NamedDependency[Forecaster], req: ForecastRequest, metrics: NamedDependency[Metrics]) -> AsyncIterator[bytes]:
    async def work(put: Put) -> bytes:
        def emit(status: str) -> None:
            put(_JSON.encode(StreamEvent(status=status, model=req.model)) + b"\n")  # type: ignore[arg-type]

        resp = await _counted(forecaster, metrics, req, emit)
        return _JSON.encode(StreamEvent(status="done", model=req.model, response=resp)) + b"\n"

    return ndjson(work)


@post("/api/validate", status_code=200)
async def validate_request(request: Request[Any, Any, Any], forecaster: NamedDependency[Forecaster]) -> Response[bytes]:
    return _json(forecaster.dry_run(decode(await read_body(request), ForecastRequest)))


@get("/api/ps", sync_to_thread=False)
def ps(scheduler: NamedDependency[Scheduler], models: NamedDependency[Models]) -> Response[bytes]:
    now = scheduler.clock()
    replicas = {
        family: [PsReplica(url=r.url, healthy=r.healthy, outstanding=r.outstanding, served=r.served, ejections=r.ejections,
                           loaded=len(r.loaded), reason=r.reason) for r in handle.replicas.values()]
        for family, handle in sorted(scheduler.running().items()) if isinstance(handle, ReplicaSet)
    }
    return _json(Ps(models=[models.ps_entry(slot, now) for slot in scheduler.loaded()], failing=scheduler.crash_policy.failing_families(),
                    replicas=replicas))


@post("/api/stop", status_code=200)
async def stop(request: Request[Any, Any, Any], scheduler: NamedDependency[Scheduler], models: NamedDependency[Models]) -> Response[bytes]:
    req = decode(await read_body(request), StopRequest)
    resolved = models.resolve(req.ref())
    scheduler.crash_policy.reset(resolved.entry.family)  # `tollama stop` also clears a failing family
    stopped = await scheduler.stop_model(resolved.digest)
    return _json({"model": resolved.ref.full, "stopped": stopped})


def forecast_route(fast: FastForecastConfig | None) -> HTTPRouteHandler:
    """The ``POST /api/forecast`` route of one app; with ``fast``, :class:`FastForecast` serves it.

    Built per app (not at import) because its middleware holds that app's collaborators.
    """
    middleware = [DefineMiddleware(FastForecast, **fast)] if fast is not None else []
    return post("/api/forecast", status_code=200, middleware=middleware)(forecast)


#: The routes after ``POST /api/forecast`` (which :func:`forecast_route` builds per app).
ROUTES = [validate_request, ps, stop]
