"""The one hand-written piece on the worker hop (``tollama.worker_http.RawClient``), on real sockets.

Each test runs a tiny asyncio server on a Unix socket that answers in the way under test
(the kit's worker is exercised through this client by the process-runtime integration tests).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from tollama.worker_http import RawClient

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next((int(ln.split(b":")[1]) for ln in head.split(b"\r\n") if ln.lower().startswith(b"content-length")), 0)
    return await reader.readexactly(length)


class Server:
    def __init__(self, path: Path, answer: Callable[[int, bytes], bytes], close_after: int | None = None) -> None:
        self.path, self.answer, self.close_after = path, answer, close_after
        self.connections = 0
        self.requests = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        served = 0
        try:
            while True:
                body = await _read_request(reader)
                self.requests += 1
                writer.write(self.answer(self.requests, body))
                await writer.drain()
                served += 1
                if self.close_after is not None and served >= self.close_after:
                    break
        except asyncio.IncompleteReadError:
            pass
        writer.close()


def _ok(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-type: application/msgpack\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n" + body


async def _serve(server: Server, run: Callable[[RawClient], Awaitable[None]], **client: float) -> None:
    srv = await asyncio.start_unix_server(server.handle, path=str(server.path))
    raw = RawClient(uds=str(server.path), **client)  # type: ignore[arg-type]
    try:
        await run(raw)
    finally:
        await raw.aclose()
        srv.close()
        await srv.wait_closed()


@pytest.fixture
def sock(tmp_path: Path) -> Path:
    return tmp_path / "w.sock"


async def test_bodies_round_trip_and_the_connection_is_kept_alive(sock: Path) -> None:
    server = Server(sock, lambda _n, body: _ok(body[::-1]))

    async def run(raw: RawClient) -> None:
        for payload in (b"abc", b"", b"x" * 100_000):
            resp = await raw.request("POST", "/v1/forecast", content=payload, headers={"content-type": "application/msgpack"})
            assert (resp.status_code, resp.content) == (200, payload[::-1])

    await _serve(server, run)
    assert (server.requests, server.connections) == (3, 1)


async def test_chunked_bodies_are_decoded(sock: Path) -> None:
    chunked = b"HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\n\r\n3\r\nnot\r\n6\r\n found\r\n0\r\n\r\n"
    server = Server(sock, lambda _n, _b: chunked)

    async def run(raw: RawClient) -> None:
        resp = await raw.request("GET", "/v1/nope")
        assert (resp.status_code, resp.text) == (404, "not found")

    await _serve(server, run)


async def test_a_kept_alive_connection_the_worker_closed_is_retried_once_on_a_fresh_one(sock: Path) -> None:
    server = Server(sock, lambda n, _b: _ok(str(n).encode()), close_after=1)

    async def run(raw: RawClient) -> None:
        assert (await raw.request("GET", "/v1/health")).content == b"1"
        await asyncio.sleep(0.05)  # the server has closed the idle connection by now
        assert (await raw.request("GET", "/v1/health")).content == b"2"

    await _serve(server, run)
    assert server.connections == 2


async def test_a_fresh_connection_that_fails_is_not_retried(sock: Path) -> None:
    server = Server(sock, lambda _n, _b: b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort", close_after=1)

    async def run(raw: RawClient) -> None:
        with pytest.raises(httpx.RemoteProtocolError, match="IncompleteReadError"):
            await raw.request("GET", "/v1/health")

    await _serve(server, run)
    assert server.requests == 1


async def test_a_silent_worker_times_out_as_httpx_read_timeout(sock: Path) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        await asyncio.sleep(5)
        writer.close()

    srv = await asyncio.start_unix_server(silent, path=str(sock))
    raw = RawClient(uds=str(sock))
    try:
        with pytest.raises(httpx.ReadTimeout):
            await raw.request("GET", "/v1/health", timeout=0.2)
    finally:
        await raw.aclose()
        srv.close()


async def test_no_worker_is_a_connect_error(sock: Path) -> None:
    with pytest.raises(httpx.ConnectError):
        await RawClient(uds=str(sock)).request("GET", "/v1/health")
