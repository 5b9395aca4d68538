"""The docker runtime: each family worker is a container started through the Docker SDK.

On first use of a family the gateway runs ``<image_prefix>/<family>:<variant>`` with the
labels ``tollama.managed=1``, ``tollama.family=<name>``, ``tollama.instance=<instance>`` and
``tollama.owner``, the model store mounted read-only, and either no host port
(``TOLLAMA_DOCKER_NETWORK``: the gateway is itself a container on that network and reaches the
worker by name) or port 8000 published on 127.0.0.1 with a port the engine picks; a CUDA-variant
container also asks for its family's GPUs. It returns once ``/v1/health`` answers; ``stop``
removes the container, which is how a family's (GPU) memory is returned.

This module is the :class:`~tollama.runtime.base.Runtime` facade; each responsibility lives in
its own module:

- :mod:`~tollama.runtime.docker_engine`: engine errors → typed errors (one boundary), status, logs
- :mod:`~tollama.runtime.docker_images`: the image cache and the authoritative image check
- :mod:`~tollama.runtime.docker_options`: what ``containers.run`` is asked for
- :mod:`~tollama.runtime.docker_gpus`: GPU device requests
- :mod:`~tollama.runtime.docker_health`: health polling while a container starts
- :mod:`~tollama.runtime.docker_events`: the thread that turns ``die`` events into ``alive() == False``
- :mod:`~tollama.runtime.docker_logs`: one thread per container filling its log buffer
- :mod:`~tollama.runtime.docker_orphans`: orphan cleanup at start-up

Blocking SDK calls run in threads (``asyncio.to_thread``); the hot path makes no engine call.
The gateway's use of the socket stays narrow: it lists, stops and removes only containers
labelled ``tollama.managed=1`` with its own instance label, and runs only images named
``<image_prefix>/<family>:<variant>`` whose ``tollama.family`` label names that family.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests
from docker.types import DeviceRequest

from tollama.errors import RuntimeNotInstalled, WorkerUnavailable
from tollama.runtime.base import WorkerHandle
from tollama.runtime.docker_engine import CONTAINER_STORE, INSTANCE, MANAGED, WORKER_PORT, engine_errors
from tollama.runtime.docker_events import DeathWatcher
from tollama.runtime.docker_gpus import gpu_request
from tollama.runtime.docker_health import wait_healthy
from tollama.runtime.docker_images import WorkerImages
from tollama.runtime.docker_logs import follow_logs
from tollama.runtime.docker_options import RunOptions
from tollama.runtime.docker_orphans import remove_orphans
from tollama.runtime.docker_worker import DockerWorker
from tollama.runtime.owner import this_gateway
from tollama.runtime.process import ProcessRuntime, ProcessWorker
from tollama.settings import Settings

__all__ = ["CONTAINER_STORE", "MANAGED", "DockerOrProcess", "DockerRuntime", "DockerWorker"]

log = logging.getLogger("tollama.runtime.docker")


class DockerRuntime:
    name = "docker"

    def __init__(self, client: Any, settings: Settings, *, streams: Any | None = None) -> None:
        self.client = client
        self._streams = streams or client  # engine calls that block for a long time (events, logs)
        self.variant = settings.variant
        self.images = WorkerImages(client, settings.image_prefix, settings.variant)
        self.network = settings.docker_network or None
        self.store_dir = settings.store_dir
        self.mount_point = CONTAINER_STORE
        self.gpus = settings.gpu_assignment()
        self.start_timeout = settings.worker_start_timeout
        self.request_timeout = settings.request_timeout
        self.labels = {MANAGED: "1", INSTANCE: settings.docker_instance}
        self.owner = this_gateway()
        self.options = RunOptions(
            labels=self.labels,
            owner=self.owner,
            store_source=settings.store_volume or str(settings.store_dir),
            network=self.network,
            threads=settings.worker_threads,
        )
        self._workers: dict[str, DockerWorker] = {}  # by container id
        self._watcher = DeathWatcher(self._streams, self._label_filter(), self._workers)

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def connect(cls, settings: Settings, required: bool) -> DockerRuntime | None:
        """Blocking: a runtime on the engine named by ``DOCKER_HOST`` (or the local socket), or None.

        It only connects; :meth:`open` reconciles orphans and starts the event watcher."""
        try:
            client = docker.from_env(timeout=30)
            client.ping()
            streams = docker.from_env(timeout=None)
        except (docker.errors.DockerException, requests.RequestException) as exc:
            if required:
                raise RuntimeError(f"TOLLAMA_RUNTIME=docker but no Docker engine answers: {exc}") from exc
            log.info("no Docker engine answers (%s): family workers run as processes", exc)
            return None
        return cls(client, settings, streams=streams)

    async def open(self) -> None:
        """Remove this instance's orphans, read which images exist, and start the event watcher."""
        await asyncio.to_thread(self._open)

    def _open(self) -> None:
        self.reconcile()
        self.refresh_images()
        self._watcher.start()

    def with_fallback(self, process: ProcessRuntime) -> DockerOrProcess:
        """``TOLLAMA_RUNTIME=auto``: families with an image run here, the others as processes."""
        return DockerOrProcess(self, process)

    def reconcile(self) -> list[str]:
        """Blocking: remove this instance's containers whose gateway is gone (:mod:`docker_orphans`)."""
        return remove_orphans(self.client, self._label_filter())

    def _label_filter(self) -> list[str]:
        return [f"{k}={v}" for k, v in self.labels.items()]

    # -- images ---------------------------------------------------------------------------
    def image_name(self, family: str) -> str:
        return self.images.name(family)

    def refresh_images(self) -> None:
        self.images.refresh()

    def has_image(self, family: str) -> bool | None:
        return self.images.cached(family)

    def _image(self, family: str) -> Any:
        return self.images.get(family)

    async def image_exists(self, family: str) -> bool:
        return await self.images.exists(family)

    # -- the Runtime interface ------------------------------------------------------------
    def check(self, family: str) -> None:
        if self.has_image(family) is False:
            raise RuntimeNotInstalled(
                f"the {family} image {self.image_name(family)} is not built; run `just image {family} {self.variant}`",
                family=family,
                runtime=self.name,
            )

    def worker_path(self, snapshot: Path) -> str:
        if self.mount_point == str(self.store_dir):
            return str(snapshot)
        return f"{self.mount_point}/{snapshot.relative_to(self.store_dir).as_posix()}"

    async def start(self, family: str) -> DockerWorker:
        image = await asyncio.to_thread(self._image, family)
        worker = await asyncio.to_thread(self._run, family, image)
        try:
            await wait_healthy(worker, self.start_timeout)
        except BaseException:
            await self.stop(worker)
            raise
        log.info("started %s (%s) for %s at %s", worker.name, self.image_name(family), family, worker.base_url)
        return worker

    def gpu_request(self, family: str) -> DeviceRequest | None:
        return gpu_request(self.variant, self.gpus, family)

    def _run(self, family: str, image: Any) -> DockerWorker:
        name = f"tollama-{family}-{secrets.token_hex(3)}"
        options = self.options.for_family(family, name, self.mount_point, self.gpu_request(family))
        with engine_errors(f"starting a {family} container", family):
            container = self.client.containers.run(self.image_name(family), **options)
            if self.network:
                base_url = f"http://{name}:{WORKER_PORT}"
            else:
                container.reload()
                bindings = container.ports.get(f"{WORKER_PORT}/tcp") or []
                if not bindings:
                    container.remove(force=True)
                    raise WorkerUnavailable(f"the {family} container published no port", family=family)
                base_url = f"http://127.0.0.1:{bindings[0]['HostPort']}"
        worker = DockerWorker(family, container, base_url, self.request_timeout)
        self._workers[worker.id] = worker
        follow_logs(self._streams, worker)
        return worker

    async def stop(self, handle: WorkerHandle) -> None:
        assert isinstance(handle, DockerWorker)
        handle.dead = True
        self._workers.pop(handle.id, None)
        await handle.client.aclose()
        await asyncio.to_thread(self._remove, handle)

    def _remove(self, worker: DockerWorker) -> None:
        try:
            worker.container.stop(timeout=10)
            worker.container.remove(force=True)
        except docker.errors.NotFound:
            return
        except (docker.errors.DockerException, requests.RequestException) as exc:
            log.warning("could not remove %s: %s", worker.name, exc)
        else:
            log.info("stopped %s (%s)", worker.name, worker.family)

    async def close(self) -> None:
        for worker in list(self._workers.values()):
            await self.stop(worker)
        self._watcher.close()
        await self.images.close()
        await asyncio.to_thread(self._close_clients)

    def _close_clients(self) -> None:
        self._watcher.join(timeout=5)
        self.client.close()
        if self._streams is not self.client:
            self._streams.close()


class DockerOrProcess:
    """``TOLLAMA_RUNTIME=auto`` with an engine: a family runs in Docker when its image exists,
    else as a process of its own environment. The container mounts the store at the host path,
    so ``worker_path`` is the same for both kinds of worker."""

    name = "docker+process"

    def __init__(self, docker_runtime: DockerRuntime, process: ProcessRuntime) -> None:
        self.docker = docker_runtime
        self.process = process
        docker_runtime.mount_point = str(docker_runtime.store_dir)

    async def open(self) -> None:
        await self.docker.open()
        await self.process.open()

    def check(self, family: str) -> None:
        if self.docker.has_image(family) is not False:
            return
        try:
            self.process.check(family)
        except RuntimeNotInstalled:
            raise RuntimeNotInstalled(
                f"the {family} runtime is not installed: build its image (`just image {family}`) "
                f"or its environment (`tollama runtime install {family}`)",
                family=family,
                runtime=self.name,
                runtimes_dir=str(self.process.runtimes_dir),
                variant=self.process.variant,
            ) from None

    def worker_path(self, snapshot: Path) -> str:
        return str(snapshot)

    async def start(self, family: str) -> WorkerHandle:
        if await self.docker.image_exists(family):
            return await self.docker.start(family)
        return await self.process.start(family)

    async def stop(self, handle: WorkerHandle) -> None:
        if isinstance(handle, DockerWorker):
            await self.docker.stop(handle)
        else:
            assert isinstance(handle, ProcessWorker)
            await self.process.stop(handle)

    async def close(self) -> None:
        try:
            await self.docker.close()
        finally:
            await self.process.close()
