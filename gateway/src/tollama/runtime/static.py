"""The static runtime: workers already running at fixed URLs (compose services, Kubernetes).

Starting a worker only checks that it answers; stopping one only drops the client (the
scheduler still unloads models, which is how memory is returned).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from tollama.errors import RuntimeNotInstalled
from tollama.runtime.base import WorkerHandle
from tollama.worker_client import WorkerClient


def parse_workers(spec: str) -> dict[str, str]:
    """``"chronos=http://chronos:8000,baseline=http://baseline:8000"`` → a mapping."""
    out = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        family, sep, url = part.partition("=")
        if not sep or not family or not url:
            raise ValueError(f"TOLLAMA_STATIC_WORKERS entry {part!r} must look like family=url")
        out[family.strip()] = url.strip().rstrip("/")
    return out


class StaticWorker:
    def __init__(self, family: str, url: str, timeout: float) -> None:
        self.family = family
        self.url = url
        self.client = WorkerClient(family, httpx.AsyncClient(base_url=url, timeout=timeout))

    def alive(self) -> bool:
        return True

    def log_tail(self) -> str:
        return ""


class StaticRuntime:
    name = "static"

    def __init__(self, workers: dict[str, str], *, store_root: Path, worker_store_root: str | None = None, request_timeout: float = 600.0) -> None:
        self.workers = workers
        self.store_root = store_root
        self.worker_store_root = worker_store_root
        self.request_timeout = request_timeout

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

    async def start(self, family: str) -> StaticWorker:
        self.check(family)
        worker = StaticWorker(family, self.workers[family], self.request_timeout)
        await worker.client.health(timeout=5.0)
        return worker

    def probes(self) -> dict[str, Callable[[], Awaitable[None]]]:
        """A health probe per configured worker (``/readyz``), each on its own short-lived client."""

        def probe_for(family: str, url: str) -> Callable[[], Awaitable[None]]:
            async def probe() -> None:
                client = WorkerClient(family, httpx.AsyncClient(base_url=url, timeout=2.0))
                try:
                    await client.health(timeout=2.0)
                finally:
                    await client.aclose()

            return probe

        return {family: probe_for(family, url) for family, url in self.workers.items()}

    async def stop(self, handle: WorkerHandle) -> None:
        assert isinstance(handle, StaticWorker)
        await handle.client.aclose()

    async def close(self) -> None:
        return None
