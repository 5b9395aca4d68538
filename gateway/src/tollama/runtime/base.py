"""The runtime interface: how a family worker is started and stopped (mechanism only).

Three implementations share it: ``process`` (a subprocess of the family's own venv),
``docker`` (a container started through the Docker SDK) and ``static`` (workers already
running at fixed URLs). The scheduler owns every policy decision.

Building a runtime touches nothing outside the process: :meth:`Runtime.open` (called by the
app's lifespan) connects to an engine, reconciles orphans and starts background threads, and
:meth:`Runtime.close` (the lifespan's end) stops them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from tollama.worker_client import WorkerCalls


class WorkerHandle(Protocol):
    family: str

    @property
    def client(self) -> WorkerCalls: ...

    def alive(self) -> bool: ...

    def log_tail(self) -> str: ...


class Runtime(Protocol):
    @property
    def name(self) -> str:
        """The runtime's name, as ``/api/info`` reports it."""
        ...

    async def open(self) -> None:
        """Acquire what the runtime needs (engine connection, orphan cleanup, watchers); the lifespan calls it."""
        ...

    def check(self, family: str) -> None:
        """Raise :class:`~tollama.errors.RuntimeNotInstalled` when ``family`` cannot be started here."""
        ...

    def worker_path(self, snapshot: Path) -> str:
        """The snapshot directory as the worker sees it (containers mount the store elsewhere)."""
        ...

    async def start(self, family: str) -> WorkerHandle:
        """Start a worker for ``family`` and return once ``/v1/health`` answers."""
        ...

    async def stop(self, handle: WorkerHandle) -> None: ...

    async def close(self) -> None:
        """Stop every worker this runtime started."""
        ...
