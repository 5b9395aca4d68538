"""The static runtime: workers already running at fixed URLs (compose services, Kubernetes).

A family may have several replicas (the family repeated in ``TOLLAMA_STATIC_WORKERS``, or a
host name with several addresses, as a headless Service gives): the scheduler's one worker
per family is then a :class:`~tollama.runtime.replicas.ReplicaSet` that routes each call.
Starting a worker only checks that a replica answers; stopping one only drops the clients (the
scheduler still unloads models, which is how memory is returned).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tollama.errors import RuntimeNotInstalled
from tollama.runtime.base import WorkerHandle
from tollama.runtime.replicas import Connect, ReplicaSet, Resolver, resolve
from tollama.worker_client import WorkerClient
from tollama.worker_http import RawClient

_FAMILY = re.compile(r"[a-z0-9][a-z0-9_-]*")


def parse_workers(spec: str) -> dict[str, list[str]]:
    """``"baseline=http://a:8000,baseline=http://b:8000,chronos=http://chronos:8000"`` → URLs by family.

    A family may repeat (its replicas); a host name may resolve to several addresses (more
    replicas, found at run time). Anything else is one ``ValueError`` naming the entry.
    """
    out: dict[str, list[str]] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        family, sep, url = (x.strip() for x in part.partition("="))
        if not sep or not family or not url:
            raise ValueError(f"TOLLAMA_STATIC_WORKERS entry {part!r} must look like family=url")
        if not _FAMILY.fullmatch(family):
            raise ValueError(f"TOLLAMA_STATIC_WORKERS entry {part!r}: the family {family!r} must be lowercase letters, digits, - and _")
        url = url.rstrip("/")
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"TOLLAMA_STATIC_WORKERS entry {part!r}: the port of {url!r} is not a number from 0 to 65535") from None
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query or parts.fragment or port == 0:
            raise ValueError(f"TOLLAMA_STATIC_WORKERS entry {part!r}: the URL must be http(s)://host[:port] with no path, got {url!r}")
        if url in out.setdefault(family, []):
            raise ValueError(f"TOLLAMA_STATIC_WORKERS lists {family}={url} twice")
        out[family].append(url)
    return out


class StaticRuntime:
    name = "static"

    def __init__(self, workers: dict[str, list[str]], *, store_root: Path, worker_store_root: str | None = None,
                 request_timeout: float = 600.0, resolver: Resolver = resolve, health_interval: float = 2.0,
                 resolve_interval: float = 10.0) -> None:
        self.workers = workers
        self.store_root = store_root
        self.worker_store_root = worker_store_root
        self.request_timeout = request_timeout
        self.resolver = resolver
        self.health_interval = health_interval
        self.resolve_interval = resolve_interval

    def _client(self, family: str, timeout: float) -> Connect:
        """Plain HTTP replicas get the lean hop client (it tells a call that got no answer byte from one cut short)."""

        def connect(url: str) -> WorkerClient:
            parts = urlsplit(url)
            if parts.scheme == "http" and parts.hostname:
                return WorkerClient(family, RawClient(host=parts.hostname, port=parts.port or 80, timeout=timeout))
            return WorkerClient(family, httpx.AsyncClient(base_url=url, timeout=timeout))

        return connect

    async def open(self) -> None:
        return None

    def check(self, family: str) -> None:
        if family not in self.workers:
            raise RuntimeNotInstalled(
                f"no static worker is configured for family {family!r} (TOLLAMA_STATIC_WORKERS)", family=family, runtime=self.name
            )

    def worker_path(self, snapshot: Path) -> str:
        if self.worker_store_root is None:
            return str(snapshot)
        return f"{self.worker_store_root.rstrip('/')}/{snapshot.relative_to(self.store_root)}"

    async def start(self, family: str) -> ReplicaSet:
        """The family's replica set, once at least one replica answers and passes the handshake."""
        self.check(family)
        replicas = ReplicaSet(family, self.workers[family], self._client(family, self.request_timeout), resolver=self.resolver,
                              health_interval=self.health_interval, resolve_interval=self.resolve_interval, health_timeout=5.0)
        await replicas.open()
        if not replicas.healthy():
            misconfigured = [r.error for r in replicas.replicas.values() if isinstance(r.error, RuntimeNotInstalled)]
            error = misconfigured[0] if misconfigured else replicas.unavailable()
            await replicas.close()
            raise error
        return replicas

    def probes(self) -> dict[str, Callable[[], Awaitable[None]]]:
        """A probe per configured family (``/readyz``): it fails only when no replica of the family is healthy."""

        def probe_for(family: str, urls: list[str]) -> Callable[[], Awaitable[None]]:
            async def probe() -> None:
                replicas = ReplicaSet(family, urls, self._client(family, 2.0), resolver=self.resolver, health_timeout=1.5)
                try:
                    await replicas.refresh()
                    await replicas.check()
                    if not replicas.healthy():
                        raise replicas.unavailable()
                finally:
                    await replicas.close()

            return probe

        return {family: probe_for(family, urls) for family, urls in self.workers.items()}

    async def stop(self, handle: WorkerHandle) -> None:
        assert isinstance(handle, ReplicaSet)
        await handle.close()

    async def close(self) -> None:
        return None
