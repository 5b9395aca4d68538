"""The kit's plain-ASGI worker app and its adapter thread (protocol v1 without a web framework)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import msgspec
import numpy as np
import pytest
from fakes import LastValueAdapter
from litestar.testing import TestClient
from tollama_kit import protocol as wire
from tollama_kit import server
from tollama_kit.adapter import ForecastInput, ForecastOutput, Loaded, Options
from tollama_kit.arrays import pack
from tollama_kit.server import create_worker_app
from tollama_kit.worker import _AdapterThread

ERROR = wire.decoder(wire.WorkerError)


class ThreadRecordingAdapter(LastValueAdapter):
    """Records the thread of every adapter call."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: set[int] = set()

    def load(self, name: str, path: str, device: str, options: Options) -> Loaded:
        self.threads.add(threading.get_ident())
        return super().load(name, path, device, options)

    def unload(self, loaded: Loaded) -> None:
        self.threads.add(threading.get_ident())

    def forecast(self, loaded: Loaded, batch: ForecastInput) -> ForecastOutput:
        self.threads.add(threading.get_ident())
        return super().forecast(loaded, batch)


def _batch(sid: str = "s", n: int = 8) -> wire.ForecastBatch:
    target = pack(np.arange(n, dtype=np.float32))
    return wire.ForecastBatch(
        key="k", horizon=2, quantiles=[0.1, 0.9], series=[wire.Series(id=sid, target=target, length=n)]
    )


def _post(client: TestClient[Any], path: str, msg: msgspec.Struct) -> httpx.Response:
    return client.post(path, content=wire.encode(msg), headers={"content-type": wire.CONTENT_TYPE})


@pytest.fixture
def client() -> Iterator[TestClient[Any]]:
    with TestClient(create_worker_app(LastValueAdapter())) as c:
        yield c


def test_routes_answer_messagepack(client: TestClient[Any]) -> None:
    health = client.get("/v1/health")
    assert health.status_code == 200 and health.headers["content-type"] == wire.CONTENT_TYPE
    assert wire.decoder(wire.Health).decode(health.content).family == "baseline"
    assert _post(client, "/v1/load", wire.LoadRequest(key="k", name="m", path="/x", device="cpu")).status_code == 200
    result = wire.decoder(wire.ForecastResult).decode(_post(client, "/v1/forecast", _batch()).content)
    assert np.frombuffer(result.series[0].mean, dtype="<f4").tolist() == [7.0, 7.0]
    info = wire.decoder(wire.Info).decode(client.get("/v1/info").content)
    assert [m.key for m in info.loaded] == ["k"]
    unloaded = wire.decoder(wire.UnloadResponse).decode(
        _post(client, "/v1/unload", wire.UnloadRequest(key="k")).content
    )
    assert unloaded.unloaded


def test_json_bodies_are_accepted_for_debugging(client: TestClient[Any]) -> None:
    resp = client.post("/v1/load", json={"key": "k", "name": "m", "path": "/x", "device": "cpu"})
    assert resp.status_code == 200
    assert wire.decoder(wire.LoadResponse).decode(resp.content).key == "k"


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code", "words"),
    [
        ("GET", "/v1/nope", b"", 404, "unsupported", "no route"),
        ("GET", "/v1/forecast", b"", 405, "unsupported", "use POST"),
        ("POST", "/v1/health", b"", 405, "unsupported", "use GET"),
        ("POST", "/v1/forecast", b"\xc1", 400, "bad_input", "undecodable ForecastBatch"),
        ("POST", "/v1/load", wire.encode(wire.UnloadRequest(key="k")), 400, "bad_input", "invalid LoadRequest"),
        ("POST", "/v1/forecast", wire.encode(_batch()), 404, "model_not_loaded", "not loaded"),
    ],
)
def test_every_failure_is_a_worker_error(
    client: TestClient[Any], method: str, path: str, body: bytes, status: int, code: str, words: str
) -> None:
    resp = client.request(method, path, content=body, headers={"content-type": wire.CONTENT_TYPE})
    assert resp.status_code == status and resp.headers["content-type"] == wire.CONTENT_TYPE
    err = ERROR.decode(resp.content)
    assert err.code == code and words in err.message


def test_oversized_bodies_are_refused(client: TestClient[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server, "MAX_BODY_BYTES", 100)
    resp = client.post(
        "/v1/forecast", content=iter([b"x" * 60, b"x" * 60]), headers={"content-type": wire.CONTENT_TYPE}
    )
    assert resp.status_code == 413 and ERROR.decode(resp.content).code == "bad_input"


def test_unexpected_errors_are_internal_worker_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_worker_app(LastValueAdapter())

    def broken() -> wire.Info:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(app.worker, "info", broken)
    with TestClient(app) as client:
        resp = client.get("/v1/info")
    assert resp.status_code == 500
    err = ERROR.decode(resp.content)
    assert err.code == "internal" and err.message == "RuntimeError: kaboom"


async def test_adapter_calls_run_on_one_thread_off_the_loop_and_concurrent_ones_fuse() -> None:
    adapter = ThreadRecordingAdapter()
    adapter.delay = 0.05  # the load keeps the adapter thread busy while forecasts queue up
    app = create_worker_app(adapter)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://worker") as c:
        headers = {"content-type": wire.CONTENT_TYPE}
        load = wire.encode(wire.LoadRequest(key="k", name="m", path="/x", device="cpu"))
        assert (await c.post("/v1/load", content=load, headers=headers)).status_code == 200
        adapter.delay = 0.0
        replies = await asyncio.gather(
            *[c.post("/v1/forecast", content=wire.encode(_batch(f"s{i}", 4 + i)), headers=headers) for i in range(6)]
        )
        await c.post("/v1/unload", content=wire.encode(wire.UnloadRequest(key="k")), headers=headers)
    results = [wire.decoder(wire.ForecastResult).decode(r.content) for r in replies]
    assert [np.frombuffer(r.series[0].mean, dtype="<f4")[0] for r in results] == [3.0 + i for i in range(6)]
    assert max(r.batch_size for r in results) > 1, "concurrent compatible batches must be fused"
    assert sum(adapter.calls) == 6 and len(adapter.calls) < 6
    assert len(adapter.threads) == 1 and threading.get_ident() not in adapter.threads
    app.worker.close()


async def test_adapter_thread_results_errors_and_close() -> None:
    thread = _AdapterThread("test-adapter")
    assert await thread.run(lambda: 41 + 1) == 42
    with pytest.raises(ZeroDivisionError):
        await thread.run(lambda: 1 / 0)
    started, release = threading.Event(), threading.Event()

    def blocking() -> str:
        started.set()
        release.wait(5)
        return "finished"

    running = thread.run(blocking)
    queued = thread.run(lambda: "never")
    await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)
    thread.close()
    release.set()
    assert await running == "finished"
    await asyncio.sleep(0)
    assert queued.cancelled(), "work not yet started is cancelled on close"
    with pytest.raises(RuntimeError, match="closed"):
        thread.run(lambda: None)


def test_lifespan_shutdown_closes_the_worker() -> None:
    app = create_worker_app(LastValueAdapter())
    with TestClient(app) as c:
        assert c.get("/v1/health").status_code == 200
    with pytest.raises(RuntimeError, match="closed"):
        app.worker._adapter_thread.run(lambda: None)
