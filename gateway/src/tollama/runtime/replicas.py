"""Replicas of one family in the static runtime, behind one worker handle that routes each call.

The scheduler holds one worker per family; in the static runtime that worker is a
:class:`ReplicaSet`. Its replicas are the family's URLs (``TOLLAMA_STATIC_WORKERS`` may repeat a
family) and, for a host name, every address the name resolves to (a Kubernetes headless Service
answers with one address per ready pod); names are resolved again every ``resolve_interval``.

- **Routing**: each call goes to the healthy replica with the fewest calls outstanding; ties go
  round-robin. A replica that has not yet loaded the model the call needs loads it first (the
  load request the scheduler sent is kept), so every replica forms its own micro-batches.
- **Health**: every ``health_interval`` each replica's ``GET /v1/health`` is asked; a failing one
  is taken out (also at once when a call finds it unreachable), and comes back once its health
  answers and its ``/v1/info`` passes the handshake again (family and protocol). A returning
  replica is assumed to have lost its models: they are loaded again on first use.
- **Retry**: a call that failed before it reached the replica, or whose connection closed before
  any byte of the answer (:class:`~tollama.worker_client.WorkerUnreached`), is sent to another
  healthy replica. Nothing else is retried: a timeout, or an answer cut short, may have run.

Clients, the resolver and the clock are injected, so the policy is unit-tested with fakes.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import urlsplit

from tollama_kit import protocol as wire

from tollama.errors import TollamaError
from tollama.runtime.handshake import handshake
from tollama.worker_client import WorkerCalls, WorkerGone, WorkerUnreached

log = logging.getLogger("tollama.replicas")
T = TypeVar("T")

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""(host, port) → the addresses to connect to (raises ``OSError`` when the name does not resolve)."""
Connect = Callable[[str], WorkerCalls]
"""A replica's base URL → its client."""

#: At most this many replicas per family (bounds the metrics' ``replica`` label and the probes).
MAX_REPLICAS = 64


async def resolve(host: str, port: int) -> list[str]:
    """The host's addresses, IPv4 if it has any (``localhost`` is not two replicas), else IPv6."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    v4 = sorted({str(i[4][0]) for i in infos if i[0] == socket.AF_INET})
    return v4 or sorted({str(i[4][0]) for i in infos if i[0] == socket.AF_INET6})


def _host_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@dataclass
class Replica:
    """One replica's client and state (also the handshake's handle for it)."""

    family: str
    url: str
    client: WorkerCalls
    healthy: bool = False
    outstanding: int = 0
    served: int = 0
    ejections: int = 0
    reason: str = "not checked yet"
    error: TollamaError | None = None  # why its last check failed
    retired: bool = False  # no longer resolved: closed once its last call ends
    loaded: set[str] = field(default_factory=set)
    loading: dict[str, asyncio.Lock] = field(default_factory=dict)

    def alive(self) -> bool:
        return self.healthy

    def log_tail(self) -> str:
        return ""


class ReplicaSet:
    """The family's worker handle (``family``, ``client``, ``alive``, ``log_tail``) over its replicas."""

    def __init__(self, family: str, urls: list[str], connect: Connect, *, resolver: Resolver = resolve,
                 health_interval: float = 2.0, resolve_interval: float = 10.0, health_timeout: float = 2.0) -> None:
        self.family = family
        self.urls = urls
        self.connect = connect
        self.resolver = resolver
        self.health_interval = health_interval
        self.resolve_interval = resolve_interval
        self.health_timeout = health_timeout
        self.replicas: dict[str, Replica] = {}
        self.retries = 0  # calls sent again to another replica
        self.resolve_error = ""
        self.client = ReplicaClient(self)
        self._loads: dict[str, wire.LoadRequest] = {}
        self._turn = 0
        self._task: asyncio.Task[None] | None = None

    # -- the handle -----------------------------------------------------------------------
    def alive(self) -> bool:
        return True  # a call with no healthy replica raises WorkerGone, and the scheduler starts the set again

    def log_tail(self) -> str:
        return ""

    def healthy(self) -> list[Replica]:
        return [r for r in self.replicas.values() if r.healthy and not r.retired]

    # -- membership -------------------------------------------------------------------------
    async def targets(self) -> list[str]:
        """Every replica URL the configured URLs give now (names resolved)."""
        out: list[str] = []
        errors = []
        for url in self.urls:
            parts = urlsplit(url)
            host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
            if _host_literal(host):
                out.append(url)
                continue
            try:
                addresses = await self.resolver(host, port)
            except OSError as exc:
                errors.append(f"{host}: {exc}")
                continue
            for address in addresses:
                shown = f"[{address}]" if ":" in address else address
                out.append(f"{parts.scheme}://{shown}:{port}")
        self.resolve_error = "; ".join(errors)
        unique = list(dict.fromkeys(out))
        if len(unique) > MAX_REPLICAS:
            log.warning("family %s has %d replicas; using the first %d", self.family, len(unique), MAX_REPLICAS)
        return unique[:MAX_REPLICAS]

    async def refresh(self) -> None:
        """Resolve again: add new replicas (checked before use), retire the ones gone."""
        wanted = await self.targets()
        if not wanted and self.resolve_error:
            return  # a failed look-up keeps the replicas known so far
        for url in wanted:
            if url not in self.replicas:
                self.replicas[url] = Replica(self.family, url, self.connect(url))
        for url in [u for u in self.replicas if u not in wanted]:
            replica = self.replicas.pop(url)
            replica.retired = True
            if replica.outstanding == 0:
                await replica.client.aclose()

    async def check(self) -> None:
        """Health-check every replica at once: take failing ones out, let recovered ones back in."""
        await asyncio.gather(*(self._check(r) for r in list(self.replicas.values())))

    async def _check(self, replica: Replica) -> None:
        try:
            await replica.client.health(timeout=self.health_timeout)
            if not replica.healthy:
                await handshake(replica, "static")
        except TollamaError as exc:
            replica.error = exc
            self._eject(replica, exc.message)
            return
        if not replica.healthy:
            log.info("replica %s of family %s is in", replica.url, self.family)
            replica.loaded.clear()  # it may have restarted: models are loaded again on first use
        replica.healthy, replica.reason, replica.error = True, "ok", None

    def _eject(self, replica: Replica, reason: str) -> None:
        if replica.healthy:
            log.warning("replica %s of family %s is out: %s", replica.url, self.family, reason)
            replica.ejections += 1
        replica.healthy, replica.reason = False, reason

    async def open(self) -> None:
        """Resolve, check every replica, and keep doing both in the background."""
        await self.refresh()
        await self.check()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._watch(), name=f"tollama-replicas-{self.family}")

    async def _watch(self) -> None:
        since_resolve = 0.0
        while True:
            await asyncio.sleep(self.health_interval)
            since_resolve += self.health_interval
            try:
                if since_resolve >= self.resolve_interval:
                    since_resolve = 0.0
                    await self.refresh()
                await self.check()
            except Exception:
                log.exception("checking the replicas of family %s failed", self.family)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for replica in self.replicas.values():
            await replica.client.aclose()
        self.replicas.clear()

    # -- routing ----------------------------------------------------------------------------
    def pick(self, exclude: Collection[str] = ()) -> Replica | None:
        """The healthy replica with the fewest outstanding calls; ties round-robin."""
        candidates = [r for r in self.healthy() if r.url not in exclude]
        if not candidates:
            return None
        least = min(r.outstanding for r in candidates)
        tied = [r for r in candidates if r.outstanding == least]
        self._turn += 1
        return tied[self._turn % len(tied)]

    def unavailable(self, tried: dict[str, str] | None = None) -> WorkerGone:
        """The error of a call no replica could take, naming each replica and why it is out."""
        tried = tried or {}
        why = "; ".join(f"{url}: {reason}" for url, reason in tried.items())
        others = "; ".join(f"{r.url}: {r.reason}" for r in self.replicas.values() if r.url not in tried and not r.healthy)
        detail = "; ".join(filter(None, (why, others, self.resolve_error))) or "none is configured or resolved"
        return WorkerGone(f"no healthy replica of the {self.family} worker ({detail})", family=self.family)

    async def route(self, call: Callable[[Replica], Awaitable[T]], key: str | None = None) -> T:
        """Run ``call`` on a replica (that holds ``key`` loaded), on another one if it was not reached."""
        tried: dict[str, str] = {}
        reloaded: set[str] = set()
        while True:
            replica = self.pick(exclude=set(tried))
            if replica is None:
                raise self.unavailable(tried)
            replica.outstanding += 1
            try:
                if key is not None:
                    await self._ensure_loaded(replica, key)
                result = await call(replica)
            except WorkerUnreached as exc:
                self._eject(replica, exc.message)
                tried[replica.url] = exc.message
                self.retries += 1
                continue
            except WorkerGone as exc:
                if key is None or exc.details.get("worker_code") != "model_not_loaded" or replica.url in reloaded:
                    raise
                replica.loaded.discard(key)  # it restarted between checks: it answered, so nothing ran; load again
                reloaded.add(replica.url)
                continue
            finally:
                replica.outstanding -= 1
                if replica.retired and replica.outstanding == 0:
                    await replica.client.aclose()
            replica.served += 1
            return result

    async def _ensure_loaded(self, replica: Replica, key: str) -> None:
        if key in replica.loaded:
            return
        req = self._loads.get(key)
        if req is None:
            return  # not loaded through this set: the replica answers model_not_loaded itself
        async with replica.loading.setdefault(key, asyncio.Lock()):
            if key not in replica.loaded:
                await replica.client.load(req)
                replica.loaded.add(key)

    async def load(self, req: wire.LoadRequest) -> wire.LoadResponse:
        """Load on one replica now (its measurement is the scheduler's); the others load on first use."""
        async def call(replica: Replica) -> wire.LoadResponse:
            resp = await replica.client.load(req)
            replica.loaded.add(req.key)
            return resp

        self._loads[req.key] = req
        try:
            return await self.route(call)
        except BaseException:
            self._loads.pop(req.key, None)
            raise

    async def unload(self, key: str) -> wire.UnloadResponse:
        self._loads.pop(key, None)
        unloaded = False
        for replica in list(self.replicas.values()):
            if key in replica.loaded:
                replica.loaded.discard(key)
                with contextlib.suppress(TollamaError):
                    unloaded = (await replica.client.unload(key)).unloaded or unloaded
        return wire.UnloadResponse(key=key, unloaded=unloaded)


class ReplicaClient:
    """The :class:`~tollama.worker_client.WorkerCalls` of a replica set: each call routed."""

    def __init__(self, replicas: ReplicaSet) -> None:
        self.family = replicas.family
        self._set = replicas

    async def health(self, timeout: float = 2.0) -> wire.Health:
        return await self._set.route(lambda r: r.client.health(timeout=timeout))

    async def info(self) -> wire.Info:
        return await self._set.route(lambda r: r.client.info())

    async def load(self, req: wire.LoadRequest) -> wire.LoadResponse:
        return await self._set.load(req)

    async def unload(self, key: str) -> wire.UnloadResponse:
        return await self._set.unload(key)

    async def forecast(self, batch: wire.ForecastBatch, payload: bytes | None = None) -> wire.ForecastResult:
        return await self._set.route(lambda r: r.client.forecast(batch, payload), key=batch.key)

    async def aclose(self) -> None:
        await self._set.close()
