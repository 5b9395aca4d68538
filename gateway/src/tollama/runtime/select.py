"""Choose the runtime from settings: ``auto | docker | process | static``.

Choosing connects to nothing: ``docker`` and ``auto`` give an :class:`EngineRuntime`, which
connects to the Docker engine when the app's lifespan opens it (so building the app, e.g. for
``scripts/gen_docs.py``, never touches an engine or a running gateway's containers).
"""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path

from tollama.errors import InternalError
from tollama.registry import Registry
from tollama.runtime.base import Runtime, WorkerHandle
from tollama.runtime.process import ProcessRuntime
from tollama.runtime.static import StaticRuntime, parse_workers
from tollama.settings import Settings


def make_runtime(settings: Settings) -> Runtime:
    if settings.family_gpus.strip():  # family names are checked against the registry at startup
        settings.gpu_assignment(Registry.load(settings.registry_file).families())
    kind = settings.runtime
    if kind == "static":
        return StaticRuntime(
            parse_workers(settings.static_workers), store_root=settings.store_dir, request_timeout=settings.request_timeout,
            health_interval=settings.static_health_interval, resolve_interval=settings.static_resolve_interval,
        )
    if kind not in ("auto", "process", "docker"):
        raise ValueError(f"TOLLAMA_RUNTIME must be auto, docker, process or static; got {kind!r}")
    if kind in ("docker", "auto") and importlib.util.find_spec("docker") is not None:
        return EngineRuntime(settings, required=kind == "docker")
    if kind == "docker":
        raise RuntimeError("TOLLAMA_RUNTIME=docker but the docker runtime is not available")
    return _process(settings)


def _process(settings: Settings) -> ProcessRuntime:
    return ProcessRuntime(
        settings.runtimes_dir, settings.run_dir, variant=settings.variant,
        start_timeout=settings.worker_start_timeout, request_timeout=settings.request_timeout, threads=settings.worker_threads,
        gpus=settings.gpu_assignment(),
    )


class EngineRuntime:
    """The docker runtime (``required``) or ``auto``'s choice, made when :meth:`open` connects.

    ``auto`` with an engine runs a family in Docker when its image exists, else as a process;
    without an engine, every family runs as a process. Before :meth:`open` it starts nothing.
    """

    def __init__(self, settings: Settings, *, required: bool) -> None:
        self.settings = settings
        self.required = required
        self._chosen: Runtime | None = None

    @property
    def name(self) -> str:
        if self._chosen is not None:
            return self._chosen.name
        return "docker" if self.required else "auto"

    @property
    def chosen(self) -> Runtime:
        if self._chosen is None:
            raise InternalError(f"the {self.name} runtime is used before the app's lifespan opened it")
        return self._chosen

    async def open(self) -> None:
        from tollama.runtime.docker import DockerRuntime

        docker = await asyncio.to_thread(DockerRuntime.connect, self.settings, self.required)
        chosen: Runtime
        if docker is None:
            chosen = _process(self.settings)
        elif self.required:
            chosen = docker
        else:
            chosen = docker.with_fallback(_process(self.settings))
        await chosen.open()
        self._chosen = chosen

    def check(self, family: str) -> None:
        self.chosen.check(family)

    def worker_path(self, snapshot: Path) -> str:
        return self.chosen.worker_path(snapshot)

    async def start(self, family: str) -> WorkerHandle:
        return await self.chosen.start(family)

    async def stop(self, handle: WorkerHandle) -> None:
        await self.chosen.stop(handle)

    async def close(self) -> None:
        if self._chosen is not None:
            await self._chosen.close()
