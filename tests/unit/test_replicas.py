"""The replica set's routing policy, with fake replica clients and an injected resolver.

Least outstanding calls with round-robin ties, ejection and return, the retry of a call that did
not reach its replica (and no retry of one that may have run), loads on first use per replica,
DNS re-resolution; then the real :class:`WorkerClient` error mapping the retry relies on.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from tollama.errors import RuntimeNotInstalled, WorkerError
from tollama.runtime.replicas import ReplicaSet
from tollama.runtime.static import StaticRuntime, parse_workers
from tollama.settings import SettingError, Settings
from tollama.worker_client import WorkerClient, WorkerGone, WorkerUnreached
from tollama_kit import protocol as wire


class FakeReplica:
    """A replica's client: records calls; ``down`` refuses connections; ``gate`` holds forecasts."""

    def __init__(self, url: str, family: str = "baseline") -> None:
        self.url = url
        self.family = family
        self.worker_family = family
        self.down = False
        self.gate: asyncio.Event | None = None
        self.fail: Exception | None = None  # raised once by the next forecast
        self.loaded: set[str] = set()
        self.forecasts = 0
        self.loads = 0
        self.closed = False

    def _reach(self) -> None:
        if self.down:
            raise WorkerUnreached(f"the {self.family} worker is unreachable (ConnectError)", family=self.family)

    async def health(self, timeout: float = 2.0) -> wire.Health:
        self._reach()
        return wire.Health(family=self.worker_family)

    async def info(self) -> wire.Info:
        self._reach()
        return wire.Info(family=self.worker_family)

    async def load(self, req: wire.LoadRequest) -> wire.LoadResponse:
        self._reach()
        self.loads += 1
        self.loaded.add(req.key)
        return wire.LoadResponse(key=req.key, device="cpu")

    async def unload(self, key: str) -> wire.UnloadResponse:
        self._reach()
        return wire.UnloadResponse(key=key, unloaded=self.loaded.discard(key) is None)

    async def forecast(self, batch: wire.ForecastBatch, payload: bytes | None = None) -> wire.ForecastResult:
        self._reach()
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            exc, self.fail = self.fail, None
            raise exc
        if batch.key not in self.loaded:
            raise WorkerGone("the baseline worker lost the model: not loaded", family=self.family, worker_code="model_not_loaded")
        self.forecasts += 1
        return wire.ForecastResult(series=[], quantiles=[], device="cpu", inference_ms=0.0)

    async def aclose(self) -> None:
        self.closed = True


LOAD = wire.LoadRequest(key="k1", name="naive", path="/store/naive")
BATCH = wire.ForecastBatch(key="k1", horizon=2, quantiles=[], series=[])


class Fleet:
    """The fakes by URL, a resolver answering from a mutable table, and the set under test."""

    def __init__(self, urls: list[str], dns: dict[str, list[str]] | None = None) -> None:
        self.fakes: dict[str, FakeReplica] = {}
        self.dns = dns or {}
        self.lookups = 0
        self.set = ReplicaSet("baseline", urls, self.connect, resolver=self.resolve, health_interval=3600, resolve_interval=3600)

    def connect(self, url: str) -> FakeReplica:
        self.fakes[url] = FakeReplica(url)
        return self.fakes[url]

    async def resolve(self, host: str, port: int) -> list[str]:
        self.lookups += 1
        if host not in self.dns:
            raise OSError(f"[Errno -2] Name or service not known: {host!r}")
        return self.dns[host]


async def _opened(urls: list[str], dns: dict[str, list[str]] | None = None) -> Fleet:
    fleet = Fleet(urls, dns)
    await fleet.set.open()
    return fleet


A, B, C = "http://10.0.0.1:8000", "http://10.0.0.2:8000", "http://10.0.0.3:8000"


async def test_serial_calls_alternate_over_equally_idle_replicas() -> None:
    fleet = await _opened([A, B])
    await fleet.set.client.load(LOAD)
    for _ in range(10):
        await fleet.set.client.forecast(BATCH)
    assert [fleet.fakes[u].forecasts for u in (A, B)] == [5, 5]
    assert sum(f.loads for f in fleet.fakes.values()) == 2, "each replica loads the model once, on first use"
    await fleet.set.close()


async def test_a_call_goes_to_the_replica_with_fewest_outstanding() -> None:
    fleet = await _opened([A, B, C])
    await fleet.set.client.load(LOAD)
    for url, fake in fleet.fakes.items():  # every replica holds the model: no load on the way
        fake.loaded.add("k1")
        fleet.set.replicas[url].loaded.add("k1")
    gates = {u: asyncio.Event() for u in (A, B, C)}
    for url, gate in gates.items():
        fleet.fakes[url].gate = gate
    held = [asyncio.create_task(fleet.set.client.forecast(BATCH)) for _ in range(3)]
    await asyncio.sleep(0)
    assert [r.outstanding for r in fleet.set.replicas.values()] == [1, 1, 1], "three concurrent calls, one per replica"
    gates[B].set()  # B answers; A and C still hold theirs
    await asyncio.wait(held, return_when=asyncio.FIRST_COMPLETED)
    gates[B].clear()
    fourth = asyncio.create_task(fleet.set.client.forecast(BATCH))
    await asyncio.sleep(0)
    assert [r.outstanding for r in fleet.set.replicas.values()] == [1, 1, 1], "the fourth went to B, the idle one"
    assert fleet.fakes[B].forecasts == 1
    for gate in gates.values():
        gate.set()
    await asyncio.gather(*held, fourth)
    assert [f.forecasts for f in fleet.fakes.values()] == [1, 2, 1]
    assert all(r.outstanding == 0 for r in fleet.set.replicas.values())
    await fleet.set.close()


async def test_an_unreached_replica_is_taken_out_and_the_call_retried_elsewhere() -> None:
    fleet = await _opened([A, B])
    await fleet.set.client.load(LOAD)
    fleet.fakes[A].down = True
    for _ in range(4):
        await fleet.set.client.forecast(BATCH)
    assert (fleet.fakes[A].forecasts, fleet.fakes[B].forecasts) == (0, 4)
    replica = fleet.set.replicas[A]
    assert not replica.healthy and replica.ejections == 1 and "unreachable" in replica.reason
    assert fleet.set.retries == 1, "one call was sent to A before it was known to be down"
    # it comes back once a health check answers (and passes the handshake), then takes calls again
    fleet.fakes[A].down = False
    await fleet.set.check()
    assert replica.healthy and replica.reason == "ok"
    for _ in range(4):
        await fleet.set.client.forecast(BATCH)
    assert fleet.fakes[A].forecasts == 2
    await fleet.set.close()


async def test_a_failed_health_check_takes_a_replica_out_and_a_wrong_family_stays_out() -> None:
    fleet = await _opened([A, B])
    fleet.fakes[B].down = True
    await fleet.set.check()
    assert [r.healthy for r in fleet.set.replicas.values()] == [True, False]
    fleet.fakes[B].down = False
    fleet.fakes[B].worker_family = "chronos"  # something else now answers at that address
    await fleet.set.check()
    replica = fleet.set.replicas[B]
    assert not replica.healthy and "'chronos' worker" in replica.reason
    assert isinstance(replica.error, RuntimeNotInstalled)
    await fleet.set.close()


async def test_a_call_that_may_have_run_is_not_retried() -> None:
    fleet = await _opened([A, B])
    await fleet.set.client.load(LOAD)
    for fake in fleet.fakes.values():
        fake.fail = WorkerError("the baseline worker timed out (ReadTimeout)", family="baseline")
    with pytest.raises(WorkerError, match="timed out"):
        await fleet.set.client.forecast(BATCH)
    assert sum(1 for f in fleet.fakes.values() if f.fail is None) == 1, "exactly one replica saw the call"
    assert fleet.set.retries == 0 and all(r.healthy for r in fleet.set.replicas.values())
    await fleet.set.close()


async def test_no_healthy_replica_is_worker_gone_naming_each() -> None:
    fleet = await _opened([A, B])
    await fleet.set.client.load(LOAD)
    fleet.fakes[A].down = fleet.fakes[B].down = True
    with pytest.raises(WorkerGone) as info:
        await fleet.set.client.forecast(BATCH)
    assert "no healthy replica of the baseline worker" in info.value.message
    assert A in info.value.message and B in info.value.message
    await fleet.set.close()


async def test_a_replica_that_lost_the_model_loads_it_again() -> None:
    fleet = await _opened([A])
    await fleet.set.client.load(LOAD)
    fleet.fakes[A].loaded.clear()  # the worker restarted between two health checks
    await fleet.set.client.forecast(BATCH)
    assert (fleet.fakes[A].loads, fleet.fakes[A].forecasts) == (2, 1)
    await fleet.set.close()


async def test_unload_reaches_every_replica_that_loaded_the_model() -> None:
    fleet = await _opened([A, B])
    await fleet.set.client.load(LOAD)
    await fleet.set.client.forecast(BATCH)
    await fleet.set.client.forecast(BATCH)
    assert all("k1" in f.loaded for f in fleet.fakes.values())
    assert (await fleet.set.client.unload("k1")).unloaded
    assert not any("k1" in f.loaded for f in fleet.fakes.values())
    await fleet.set.close()


async def test_a_name_is_resolved_to_every_address_and_resolved_again() -> None:
    fleet = await _opened(["http://tollama-baseline:8000"], dns={"tollama-baseline": ["10.1.0.1", "10.1.0.2"]})
    assert sorted(fleet.set.replicas) == ["http://10.1.0.1:8000", "http://10.1.0.2:8000"]
    assert all(r.healthy for r in fleet.set.replicas.values())
    # a pod goes, another comes: the gone one is retired (closed), the new one checked before use
    fleet.dns["tollama-baseline"] = ["10.1.0.2", "10.1.0.3"]
    await fleet.set.refresh()
    assert sorted(fleet.set.replicas) == ["http://10.1.0.2:8000", "http://10.1.0.3:8000"]
    assert fleet.fakes["http://10.1.0.1:8000"].closed
    assert not fleet.set.replicas["http://10.1.0.3:8000"].healthy
    await fleet.set.check()
    assert all(r.healthy for r in fleet.set.replicas.values())
    # a failed look-up keeps what is known, and the error is named when nothing can serve
    del fleet.dns["tollama-baseline"]
    await fleet.set.refresh()
    assert len(fleet.set.replicas) == 2 and "Name or service not known" in fleet.set.resolve_error
    assert fleet.lookups == 3
    await fleet.set.close()


async def test_ipv6_addresses_are_bracketed_and_literals_not_resolved() -> None:
    fleet = await _opened(["http://svc:8000", "http://10.9.9.9:8000"], dns={"svc": ["fd00::1"]})
    assert sorted(fleet.set.replicas) == ["http://10.9.9.9:8000", "http://[fd00::1]:8000"]
    assert fleet.lookups == 1
    await fleet.set.close()


async def test_the_static_runtime_starts_a_set_only_when_a_replica_serves(tmp_path: object) -> None:
    fakes: dict[str, FakeReplica] = {}

    class Runtime(StaticRuntime):
        def _client(self, family: str, timeout: float):  # type: ignore[no-untyped-def]
            return lambda url: fakes.setdefault(url, FakeReplica(url))

    runtime = Runtime({"baseline": [A, B]}, store_root=tmp_path)  # type: ignore[arg-type]
    handle = await runtime.start("baseline")
    assert isinstance(handle, ReplicaSet) and len(handle.healthy()) == 2
    await runtime.stop(handle)
    for fake in fakes.values():
        fake.down = True
    with pytest.raises(WorkerGone, match="no healthy replica"):
        await runtime.start("baseline")
    probe = runtime.probes()["baseline"]
    with pytest.raises(WorkerGone, match="no healthy replica of the baseline worker"):
        await probe()
    fakes[B].down = False
    await probe()  # one healthy replica is enough to be ready


def test_the_setting_takes_repeated_families_and_refuses_bad_entries() -> None:
    assert parse_workers("baseline=http://a:8000, baseline=http://b:8000/,chronos=http://c:8000") == {
        "baseline": ["http://a:8000", "http://b:8000"], "chronos": ["http://c:8000"],
    }
    for bad, says in [
        ("baseline", "must look like family=url"),
        ("baseline=http://a:8000,baseline=http://a:8000", "lists baseline=http://a:8000 twice"),
        ("baseline=http://a:8000/v1", "with no path"),
        ("baseline=tcp://a:8000", "http(s)://host[:port]"),
        ("baseline=http://a:70000", "not a number from 0 to 65535"),
        ("Base line=http://a:8000", "lowercase letters"),
    ]:
        with pytest.raises(SettingError) as info:
            Settings.from_env({"TOLLAMA_STATIC_WORKERS": bad})
        assert says in str(info.value) and "TOLLAMA_STATIC_WORKERS" in str(info.value)


@pytest.mark.parametrize(
    ("raised", "retryable"),
    [
        (httpx.ConnectError("[Errno 111] Connection refused"), True),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), True),
        (httpx.RemoteProtocolError("peer closed connection without sending complete message body"), False),
        (httpx.ReadError("[Errno 104] Connection reset by peer"), False),
    ],
)
async def test_only_failures_before_any_answer_byte_are_marked_retryable(raised: Exception, retryable: bool) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise raised

    client = WorkerClient("baseline", httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://w"))
    with pytest.raises(WorkerGone) as info:
        await client.forecast(BATCH)
    assert isinstance(info.value, WorkerUnreached) is retryable
    await client.aclose()


async def test_a_timeout_is_not_marked_retryable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out")

    client = WorkerClient("baseline", httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://w"))
    with pytest.raises(WorkerError) as info:
        await client.forecast(BATCH)
    assert not isinstance(info.value, WorkerGone)
    await client.aclose()


async def _serve(answer: bytes) -> tuple[asyncio.Server, int]:
    """A loopback server that reads the request, writes ``answer`` (maybe nothing) and closes."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


@pytest.mark.parametrize(("answer", "retryable"), [(b"", True), (b"HTTP/1.1 200 OK\r\ncontent-le", False)])
async def test_the_lean_hop_client_tells_no_answer_from_an_answer_cut_short(answer: bytes, retryable: bool) -> None:
    from tollama.worker_http import RawClient

    server, port = await _serve(answer)
    client = WorkerClient("baseline", RawClient(host="127.0.0.1", port=port, timeout=5))
    try:
        with pytest.raises(WorkerGone) as info:
            await client.health()
        assert isinstance(info.value, WorkerUnreached) is retryable, info.value.message
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()


def test_the_gateway_builds_its_static_runtime_from_the_settings(tmp_path: object) -> None:
    from tollama.runtime.select import make_runtime

    settings = Settings(home=tmp_path, runtime="static", static_workers=f"baseline={A},baseline=http://svc:8000",  # type: ignore[arg-type]
                        static_health_interval=0.5, static_resolve_interval=7.0)
    runtime = make_runtime(settings)
    assert isinstance(runtime, StaticRuntime)
    assert runtime.workers == {"baseline": [A, "http://svc:8000"]}
    assert (runtime.health_interval, runtime.resolve_interval) == (0.5, 7.0)
