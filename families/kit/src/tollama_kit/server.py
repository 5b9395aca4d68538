"""The worker HTTP app: protocol v1 as a plain ASGI app, MessagePack bodies (JSON accepted).

Five fixed routes, one body type each, one error shape: a web framework (routing trie,
signature models, dependency injection, response objects) costs more per call than the
trivial forecasts a worker serves, so the app is written against ASGI directly.
Every failure is a :class:`~tollama_kit.protocol.WorkerError` body: a :class:`KitError`
with its own code and status; an unknown route ``unsupported`` (404 / 405); an oversized
body ``bad_input`` (413); anything unexpected ``internal`` (500, logged with its traceback).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, TypeVar

import msgspec

from tollama_kit import protocol as wire
from tollama_kit.adapter import Adapter
from tollama_kit.errors import BadInput, KitError, Unsupported
from tollama_kit.worker import Worker

T = TypeVar("T")
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Handler = Callable[[bytes, bool], Awaitable[msgspec.Struct]]

log = logging.getLogger("tollama_kit.server")

#: Largest request body accepted (a 1,024-series batch of 100,000-point float32 contexts is ~400 MB).
MAX_BODY_BYTES = 1 << 30

_MSGPACK_DECODERS: dict[type, Any] = {t: wire.decoder(t) for t in (wire.LoadRequest, wire.UnloadRequest, wire.ForecastBatch)}
_HEADERS = [(b"content-type", wire.CONTENT_TYPE.encode())]


class _TooLarge(KitError):
    code: wire.WorkerErrorCode = "bad_input"
    status = 413


def _decode(body: bytes, is_json: bool, kind: type[T]) -> T:
    try:
        if is_json:
            return msgspec.json.decode(body, type=kind)
        return _MSGPACK_DECODERS[kind].decode(body)  # type: ignore[no-any-return]
    except msgspec.ValidationError as exc:
        raise BadInput(f"invalid {kind.__name__}: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise BadInput(f"undecodable {kind.__name__} body: {exc}") from exc


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise BadInput("the client disconnected before sending the whole body")
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise _TooLarge(f"the request body exceeds {MAX_BODY_BYTES} bytes")
            chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _respond(send: Send, status: int, body: bytes) -> None:
    headers = [*_HEADERS, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class WorkerApp:
    """The ASGI app serving one adapter (one family) over protocol v1."""

    def __init__(self, adapter: Adapter) -> None:
        self.worker = Worker(adapter)
        self._routes: dict[str, tuple[str, Handler]] = {
            "/v1/health": ("GET", self._health),
            "/v1/info": ("GET", self._info),
            "/v1/load": ("POST", self._load),
            "/v1/unload": ("POST", self._unload),
            "/v1/forecast": ("POST", self._forecast),
        }

    async def _health(self, body: bytes, is_json: bool) -> msgspec.Struct:
        return self.worker.health()

    async def _info(self, body: bytes, is_json: bool) -> msgspec.Struct:
        return self.worker.info()

    async def _load(self, body: bytes, is_json: bool) -> msgspec.Struct:
        return await self.worker.load(_decode(body, is_json, wire.LoadRequest))

    async def _unload(self, body: bytes, is_json: bool) -> msgspec.Struct:
        return await self.worker.unload(_decode(body, is_json, wire.UnloadRequest))

    async def _forecast(self, body: bytes, is_json: bool) -> msgspec.Struct:
        return await self.worker.forecast(_decode(body, is_json, wire.ForecastBatch))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        # websockets are not part of protocol v1: returning without accepting closes them

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            route = self._routes.get(scope["path"])
            if route is None:
                raise _NoRoute(f"no route {scope['path']!r} in worker protocol v1", 404)
            method, handler = route
            if scope["method"] != method:
                raise _NoRoute(f"{scope['method']} is not allowed on {scope['path']} (use {method})", 405)
            body = await _read_body(receive) if method == "POST" else b""
            result = await handler(body, _is_json(scope))
        except KitError as exc:
            await _respond(send, exc.status, wire.encode(wire.WorkerError(code=exc.code, message=exc.message)))
            return
        except Exception as exc:
            log.exception("unexpected error serving %s %s", scope["method"], scope["path"])
            message = f"{type(exc).__name__}: {exc}"
            await _respond(send, 500, wire.encode(wire.WorkerError(code="internal", message=message)))
            return
        await _respond(send, 200, wire.encode(result))

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.worker.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


class _NoRoute(Unsupported):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return bool(value.startswith(b"application/json"))
    return False


def create_worker_app(adapter: Adapter) -> WorkerApp:
    """The ASGI app serving one adapter (one family) over protocol v1."""
    return WorkerApp(adapter)
