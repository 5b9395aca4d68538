"""The worker HTTP app: protocol v1 over Litestar, MessagePack bodies (JSON accepted)."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from litestar import Litestar, Request, Response, get, post

from tollama_kit import protocol as wire
from tollama_kit.adapter import Adapter
from tollama_kit.errors import BadInput, KitError
from tollama_kit.worker import Worker

T = TypeVar("T")

_MSGPACK_DECODERS: dict[type, Any] = {
    t: wire.decoder(t) for t in (wire.LoadRequest, wire.UnloadRequest, wire.ForecastBatch)
}


async def _decode(request: Request[Any, Any, Any], kind: type[T]) -> T:
    body = await request.body()
    try:
        if request.headers.get("content-type", "").startswith("application/json"):
            return msgspec.json.decode(body, type=kind)
        return _MSGPACK_DECODERS[kind].decode(body)  # type: ignore[no-any-return]
    except msgspec.ValidationError as exc:
        raise BadInput(f"invalid {kind.__name__}: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise BadInput(f"undecodable {kind.__name__} body: {exc}") from exc


def _respond(message: msgspec.Struct, status: int = 200) -> Response[bytes]:
    return Response(wire.encode(message), status_code=status, media_type=wire.CONTENT_TYPE)


def _kit_error(_: Request[Any, Any, Any], exc: KitError) -> Response[bytes]:
    return _respond(wire.WorkerError(code=exc.code, message=exc.message), exc.status)


def create_worker_app(adapter: Adapter) -> Litestar:
    """The ASGI app serving one adapter (one family) over protocol v1."""
    worker = Worker(adapter)

    @get("/v1/health", sync_to_thread=False)
    def health() -> Response[bytes]:
        return _respond(worker.health())

    @get("/v1/info", sync_to_thread=False)
    def info() -> Response[bytes]:
        return _respond(worker.info())

    @post("/v1/load")
    async def load(request: Request[Any, Any, Any]) -> Response[bytes]:
        return _respond(await worker.load(await _decode(request, wire.LoadRequest)))

    @post("/v1/unload")
    async def unload(request: Request[Any, Any, Any]) -> Response[bytes]:
        return _respond(await worker.unload(await _decode(request, wire.UnloadRequest)))

    @post("/v1/forecast")
    async def forecast(request: Request[Any, Any, Any]) -> Response[bytes]:
        return _respond(await worker.forecast(await _decode(request, wire.ForecastBatch)))

    return Litestar(
        route_handlers=[health, info, load, unload, forecast],
        exception_handlers={KitError: _kit_error},
        on_shutdown=[worker.close],
        openapi_config=None,
        debug=False,
    )
