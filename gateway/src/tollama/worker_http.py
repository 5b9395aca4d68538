"""A lean HTTP/1.1 client for the gateway → worker hop (Unix socket or TCP, keep-alive).

The worker hop carries one small request and one response per forecast; a general client
(URL parsing, header models, auth, redirects) costs more per call than the trivial forecast
it carries. This client speaks just what protocol v1 needs — ``Content-Length`` bodies (and
chunked ones, to be safe), keep-alive connections — with httpx's exception types and
response shape, so :class:`~tollama.worker_client.WorkerClient` treats it like httpx.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import httpx

_MAX_HEADER = 64 * 1024


@dataclass
class RawResponse:
    status_code: int
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")


Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class NoAnswer(httpx.RemoteProtocolError):
    """The connection failed before a single byte of the answer (httpcore's wording, which
    :class:`~tollama.worker_client.WorkerClient` maps to a retryable failure)."""

    def __init__(self, cause: str) -> None:
        super().__init__(f"Server disconnected without sending a response ({cause}).")


class RawClient:
    def __init__(self, *, uds: str | None = None, host: str = "127.0.0.1", port: int | None = None, timeout: float = 600.0, pool: int = 32) -> None:
        if uds is None and port is None:
            raise ValueError("RawClient needs a Unix socket path or a TCP port")
        self.uds, self.host, self.port = uds, host, port
        self.timeout = timeout
        self._idle: list[Conn] = []
        self._pool = pool
        shown = f"[{host}]" if ":" in host else host
        self._host_header = b"worker" if uds else f"{shown}:{port}".encode()

    async def _open(self) -> Conn:
        try:
            if self.uds is not None:
                return await asyncio.open_unix_connection(self.uds, limit=_MAX_HEADER)
            return await asyncio.open_connection(self.host, self.port, limit=_MAX_HEADER)
        except OSError as exc:
            raise httpx.ConnectError(f"cannot connect to the worker: {exc}") from exc

    async def request(self, method: str, path: str, *, content: bytes | None = None, headers: dict[str, str] | None = None,
                      timeout: float | object = None) -> RawResponse:
        limit = timeout if isinstance(timeout, (int, float)) else self.timeout
        body = content or b""
        head = [f"{method} {path} HTTP/1.1".encode(), b"host: " + self._host_header, f"content-length: {len(body)}".encode()]
        head += [f"{k}: {v}".encode() for k, v in (headers or {}).items()]
        payload = b"\r\n".join(head) + b"\r\n\r\n" + body
        reused = bool(self._idle)
        conn = self._idle.pop() if reused else await self._open()
        try:
            async with asyncio.timeout(limit):
                resp, keep = await self._exchange(conn, payload)
        except TimeoutError as exc:
            self._close(conn)
            raise httpx.ReadTimeout(f"the worker did not answer within {limit:.0f}s") from exc
        except NoAnswer:
            self._close(conn)
            if reused:  # a kept-alive connection the worker closed meanwhile: retry once on a fresh one
                return await self.request(method, path, content=content, headers=headers, timeout=timeout)
            raise
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            self._close(conn)
            if reused and isinstance(exc, (asyncio.IncompleteReadError, ConnectionError)):
                # A kept-alive connection the worker closed meanwhile: retry once on a fresh one.
                return await self.request(method, path, content=content, headers=headers, timeout=timeout)
            raise httpx.RemoteProtocolError(f"the worker connection failed: {type(exc).__name__}: {exc}") from exc
        if keep and len(self._idle) < self._pool:
            self._idle.append(conn)
        else:
            self._close(conn)
        return resp

    async def _exchange(self, conn: Conn, payload: bytes) -> tuple[RawResponse, bool]:
        reader, writer = conn
        try:
            writer.write(payload)
            await writer.drain()
            first = await reader.read(1)  # apart, to tell "no answer at all" from an answer cut short
        except ConnectionError as exc:
            raise NoAnswer(f"{type(exc).__name__}: {exc}") from exc
        if not first:
            raise NoAnswer("the connection closed")
        head = first + await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        fields = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                fields[name.strip().lower()] = value.strip()
        if "content-length" in fields:
            body = await reader.readexactly(int(fields["content-length"]))
        elif fields.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
                if size == 0:
                    await reader.readuntil(b"\r\n")
                    break
                chunks.append(await reader.readexactly(size))
                await reader.readexactly(2)
            body = b"".join(chunks)
        else:
            body = await reader.read()
            return RawResponse(status, body), False
        return RawResponse(status, body), fields.get("connection", "").lower() != "close"

    @staticmethod
    def _close(conn: Conn) -> None:
        with contextlib.suppress(Exception):
            conn[1].close()

    async def aclose(self) -> None:
        while self._idle:
            self._close(self._idle.pop())
