"""The gateway's client for one family worker (protocol v1, MessagePack over httpx).

Transport failures and worker error bodies are translated to typed errors at this
boundary (:func:`_map_errors`), chained with ``from``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar, cast

import httpx
import msgspec
from tollama_kit import protocol as wire

from tollama.errors import (
    InvalidRequest,
    TollamaError,
    UnsupportedFeature,
    WorkerError,
    WorkerOutOfMemory,
    WorkerUnavailable,
)
from tollama.request_context import REQUEST_ID
from tollama.worker_http import RawClient, RawResponse

T = TypeVar("T")
_HEADERS = {"content-type": wire.CONTENT_TYPE, "accept": wire.CONTENT_TYPE}
_ERROR = wire.decoder(wire.WorkerError)
_DECODERS: dict[type, msgspec.msgpack.Decoder[Any]] = {
    t: wire.decoder(t) for t in (wire.Health, wire.Info, wire.LoadResponse, wire.UnloadResponse, wire.ForecastResult)
}


class WorkerGone(WorkerUnavailable):
    """The worker's transport failed (it died, or never answered): the runtime should restart it."""


class WorkerUnreached(WorkerGone):
    """The request never reached the worker (connection refused), or the connection closed before any
    byte of an answer: the call may be sent to another replica of the family."""


#: httpcore's message when the peer closed the connection before a single byte of the response.
_NO_ANSWER = "without sending a response"


#: The gateway error (and message) of each worker error code (:data:`tollama_kit.protocol.WorkerErrorCode`,
#: a test checks every one is here).
WORKER_CODES: dict[str, tuple[type[TollamaError], str]] = {
    "out_of_memory": (WorkerOutOfMemory, "{message}"),
    "bad_input": (InvalidRequest, "{message}"),
    "unsupported": (UnsupportedFeature, "{message}"),
    "load_failed": (WorkerError, "loading failed in the {family} worker: {message}"),
    "model_not_loaded": (WorkerGone, "the {family} worker lost the model: {message}"),
    "internal": (WorkerError, "the {family} worker failed: {message}"),
}


@contextmanager
def _map_errors(family: str, log_tail: Callable[[], str]) -> Iterator[None]:
    try:
        yield
    except httpx.TimeoutException as exc:
        raise WorkerError(f"the {family} worker timed out ({type(exc).__name__})", family=family) from exc
    except httpx.ConnectError as exc:
        raise WorkerUnreached(f"the {family} worker is unreachable ({type(exc).__name__}: {exc})", family=family) from exc
    except httpx.RemoteProtocolError as exc:
        kind = WorkerUnreached if _NO_ANSWER in str(exc) else WorkerGone
        raise kind(f"the {family} worker closed the connection ({type(exc).__name__}: {exc})", family=family, log_tail=log_tail() or None) from exc
    except httpx.TransportError as exc:
        raise WorkerGone(f"the {family} worker is unreachable ({type(exc).__name__}: {exc})", family=family, log_tail=log_tail() or None) from exc


def _raise_for(family: str, resp: httpx.Response | RawResponse, log_tail: Callable[[], str]) -> None:
    try:
        err = _ERROR.decode(resp.content)
    except msgspec.DecodeError:
        raise WorkerError(f"the {family} worker answered HTTP {resp.status_code}: {resp.text[:500]}", family=family, log_tail=log_tail() or None) from None
    kind, template = WORKER_CODES[err.code]
    log = (err.log_tail or log_tail() or None) if kind is WorkerError else None
    raise kind(template.format(family=family, message=err.message), family=family, worker_code=err.code, log_tail=log)


class WorkerCalls(Protocol):
    """What the scheduler calls on a family's worker: one :class:`WorkerClient`, or a set of replicas."""

    family: str

    async def health(self, timeout: float = 2.0) -> wire.Health: ...

    async def info(self) -> wire.Info: ...

    async def load(self, req: wire.LoadRequest) -> wire.LoadResponse: ...

    async def unload(self, key: str) -> wire.UnloadResponse: ...

    async def forecast(self, batch: wire.ForecastBatch, payload: bytes | None = None) -> wire.ForecastResult:
        """``payload``: ``batch`` already encoded (the result cache hashed it), sent as is."""
        ...

    async def aclose(self) -> None: ...


class WorkerClient:
    def __init__(self, family: str, client: httpx.AsyncClient | RawClient, log_tail: Callable[[], str] = lambda: "") -> None:
        self.family = family
        self._client = client
        self._log_tail = log_tail

    async def _call(self, method: str, path: str, kind: type[T], body: msgspec.Struct | bytes | None = None, timeout: float | None = None) -> T:
        rid = REQUEST_ID.get()
        with _map_errors(self.family, self._log_tail):
            resp = await self._client.request(
                method, path, content=body if body is None or isinstance(body, bytes) else wire.encode(body), headers=_HEADERS if rid is None else {**_HEADERS, "x-request-id": rid},
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
        if resp.status_code != 200:
            _raise_for(self.family, resp, self._log_tail)
        try:
            return cast(T, _DECODERS[kind].decode(resp.content))
        except msgspec.DecodeError as exc:
            raise WorkerError(f"the {self.family} worker sent an undecodable {kind.__name__}: {exc}") from exc

    async def health(self, timeout: float = 2.0) -> wire.Health:
        return await self._call("GET", "/v1/health", wire.Health, timeout=timeout)

    async def info(self) -> wire.Info:
        return await self._call("GET", "/v1/info", wire.Info)

    async def load(self, req: wire.LoadRequest) -> wire.LoadResponse:
        return await self._call("POST", "/v1/load", wire.LoadResponse, req)

    async def unload(self, key: str) -> wire.UnloadResponse:
        return await self._call("POST", "/v1/unload", wire.UnloadResponse, wire.UnloadRequest(key=key))

    async def forecast(self, batch: wire.ForecastBatch, payload: bytes | None = None) -> wire.ForecastResult:
        return await self._call("POST", "/v1/forecast", wire.ForecastResult, batch if payload is None else payload)

    async def aclose(self) -> None:
        await self._client.aclose()


__all__ = ["TollamaError", "WorkerCalls", "WorkerClient", "WorkerGone", "WorkerUnreached"]
