"""The docker runtime: each family worker is a container started through the Docker SDK.

On first use of a family the gateway runs ``<image_prefix>/<family>:<variant>`` with the
labels ``tollama.managed=1``, ``tollama.family=<name>`` and ``tollama.instance=<instance>``,
the model store mounted read-only, and either no host port (``TOLLAMA_DOCKER_NETWORK``: the
gateway is itself a container on that network and reaches the worker by name) or port 8000
published on 127.0.0.1 with a port the engine picks; a CUDA-variant container also asks for
its family's GPUs (``TOLLAMA_FAMILY_GPUS``, else ``TOLLAMA_GPUS``). It returns once
``/v1/health`` answers; ``stop`` removes the container, which is how a family's (GPU) memory
is returned.

Blocking SDK calls run in threads (``asyncio.to_thread``). Two kinds of long-lived daemon
threads keep the hot path free of engine calls: one follows the engine's ``die`` events for
this gateway's containers (so ``alive()`` is a flag read), and one per container follows its
log (so ``log_tail()`` is a buffer read). Engine failures are translated to typed errors at
one boundary (:func:`_engine_errors`).

The gateway's use of the socket stays narrow: it lists, stops and removes only containers
labelled ``tollama.managed=1`` with its own instance label, and runs only images named
``<image_prefix>/<family>:<variant>`` whose ``tollama.family`` label names that family.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import httpx
import requests
from docker.types import DeviceRequest
from tollama_kit.protocol import PROTOCOL_VERSION

from tollama.errors import RuntimeNotInstalled, TollamaError, WorkerUnavailable
from tollama.runtime.base import WorkerHandle
from tollama.runtime.owner import OWNER, owner_alive, this_gateway
from tollama.runtime.process import ProcessRuntime, ProcessWorker
from tollama.settings import Settings
from tollama.worker_client import WorkerClient

log = logging.getLogger("tollama.runtime.docker")

MANAGED = "tollama.managed"
WORKER_PORT = 8000
CONTAINER_STORE = "/models"
_IMAGE_TTL = 5.0  # seconds a cached "image exists?" answer is trusted by check()
_LOG_LINES = 200


@contextlib.contextmanager
def _engine_errors(what: str, family: str | None = None) -> Iterator[None]:
    """Translate Docker SDK / engine failures into a typed error, chained with ``from``."""
    try:
        yield
    except docker.errors.ImageNotFound as exc:
        raise RuntimeNotInstalled(f"{what}: {exc.explanation or exc}", family=family, runtime="docker") from exc
    except (docker.errors.DockerException, requests.RequestException) as exc:
        raise WorkerUnavailable(
            f"{what}: the Docker engine failed ({type(exc).__name__}: {exc})", family=family
        ) from exc


class DockerWorker:
    """One running family container (a :class:`~tollama.runtime.base.WorkerHandle`)."""

    def __init__(self, family: str, container: Any, base_url: str, request_timeout: float) -> None:
        self.family = family
        self.container = container
        self.id: str = container.id
        self.name: str = container.name
        self.base_url = base_url
        self.dead = False  # set by the events thread (die), by stop(), or by a failed status check
        self.logs: deque[str] = deque(maxlen=_LOG_LINES)
        self.client = WorkerClient(family, httpx.AsyncClient(base_url=base_url, timeout=request_timeout), self.log_tail)

    def alive(self) -> bool:
        return not self.dead

    def log_tail(self) -> str:
        return "\n".join(self.logs)[-4000:]


class DockerRuntime:
    name = "docker"

    def __init__(self, client: Any, settings: Settings, *, streams: Any | None = None) -> None:
        self.client = client
        self._streams = streams or client  # engine calls that block for a long time (events, logs)
        self.prefix = settings.image_prefix.rstrip("/")
        self.variant = settings.variant
        self.instance = settings.docker_instance
        self.network = settings.docker_network or None
        self.store_dir = settings.store_dir
        self.store_source = settings.store_volume or str(settings.store_dir)
        self.mount_point = CONTAINER_STORE
        self.gpus = settings.gpu_assignment()
        self.start_timeout = settings.worker_start_timeout
        self.request_timeout = settings.request_timeout
        self.threads = settings.worker_threads
        self.labels = {MANAGED: "1", "tollama.instance": self.instance}
        self.owner = this_gateway()
        self._workers: dict[str, DockerWorker] = {}  # by container id
        self._images: dict[str, bool] = {}
        self._images_at = 0.0
        self._refresh: asyncio.Task[None] | None = None
        self._closing = threading.Event()
        self._events: Any = None
        self._watcher: threading.Thread | None = None

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
        self.watch()

    def with_fallback(self, process: ProcessRuntime) -> DockerOrProcess:
        """``TOLLAMA_RUNTIME=auto``: families with an image run here, the others as processes."""
        return DockerOrProcess(self, process)

    def reconcile(self) -> list[str]:
        """Remove this instance's managed containers left behind by a gateway that is gone.

        Containers of a live owner (:mod:`tollama.runtime.owner`) are kept; one already going away
        (404, or 409 "removal already in progress") is not an error."""
        removed = []
        with _engine_errors("removing orphaned worker containers"):
            for container in self.client.containers.list(all=True, filters={"label": self._label_filter()}):
                owner = container.labels.get(OWNER)
                if owner_alive(owner):
                    log.info("keeping worker container %s: its gateway %s is alive", container.name, owner)
                    continue
                log.warning(
                    "removing orphaned worker container %s (%s)", container.name, container.labels.get("tollama.family")
                )
                try:
                    container.remove(force=True)
                except docker.errors.NotFound:
                    continue
                except docker.errors.APIError as exc:
                    if exc.status_code != 409:
                        raise
                    log.info("worker container %s is already being removed", container.name)
                    continue
                removed.append(container.id)
        return removed

    def _label_filter(self) -> list[str]:
        return [f"{k}={v}" for k, v in self.labels.items()]

    # -- images ---------------------------------------------------------------------------
    def image_name(self, family: str) -> str:
        return f"{self.prefix}/{family}:{self.variant}"

    def refresh_images(self) -> None:
        """Blocking: which families have an image of this variant (labels checked)."""
        found: dict[str, bool] = {}
        with _engine_errors("listing worker images"):
            for image in self.client.images.list(filters={"label": "tollama.family"}):
                family = image.labels.get("tollama.family", "")
                if self.image_name(family) in image.tags:
                    found[family] = True
        self._images = found
        self._images_at = time.monotonic()

    def has_image(self, family: str) -> bool | None:
        """From the cache: True / False, or None when the cache is stale (a refresh is scheduled)."""
        if time.monotonic() - self._images_at <= _IMAGE_TTL:
            return self._images.get(family, False)
        self._schedule_refresh()
        return self._images.get(family) or None

    def _schedule_refresh(self) -> None:
        if self._refresh is not None and not self._refresh.done():
            return
        with contextlib.suppress(RuntimeError):  # no running loop: the next start() refreshes
            self._refresh = asyncio.get_running_loop().create_task(self._refresh_quietly())

    async def _refresh_quietly(self) -> None:
        with contextlib.suppress(TollamaError):
            await asyncio.to_thread(self.refresh_images)

    def _image(self, family: str) -> Any:
        """Blocking, authoritative: the family's image, or RuntimeNotInstalled."""
        name = self.image_name(family)
        try:
            with _engine_errors(f"looking up {name}", family):
                image = self.client.images.get(name)
        except RuntimeNotInstalled:
            self._images[family] = False
            raise RuntimeNotInstalled(
                f"the {family} image {name} is not built; run `just image {family} {self.variant}` "
                f"or `docker compose --profile build build {family}`",
                family=family,
                runtime=self.name,
            ) from None
        labels = image.labels or {}
        if labels.get("tollama.family") != family:
            raise RuntimeNotInstalled(
                f"{name} is not a tollama {family} worker image (label tollama.family)",
                family=family,
                runtime=self.name,
            )
        if labels.get("tollama.protocol") != str(PROTOCOL_VERSION):
            raise RuntimeNotInstalled(
                f"{name} speaks worker protocol {labels.get('tollama.protocol')!r}, this gateway {PROTOCOL_VERSION}: rebuild it",
                family=family,
                runtime=self.name,
            )
        self._images[family] = True
        return image

    async def image_exists(self, family: str) -> bool:
        try:
            await asyncio.to_thread(self._image, family)
        except RuntimeNotInstalled:
            return False
        return True

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
            await self._wait_healthy(worker)
        except BaseException:
            await self.stop(worker)
            raise
        log.info("started %s (%s) for %s at %s", worker.name, self.image_name(family), family, worker.base_url)
        return worker

    def _run(self, family: str, image: Any) -> DockerWorker:
        name = f"tollama-{family}-{secrets.token_hex(3)}"
        options: dict[str, Any] = {
            "name": name,
            "detach": True,
            "labels": {**self.labels, "tollama.family": family, OWNER: self.owner},
            "volumes": {self.store_source: {"bind": self.mount_point, "mode": "ro"}},
            "environment": {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
        }
        if self.threads:
            options["environment"].update(OMP_NUM_THREADS=str(self.threads), MKL_NUM_THREADS=str(self.threads))
        if self.network:
            options["network"] = self.network
        else:
            options["ports"] = {f"{WORKER_PORT}/tcp": ("127.0.0.1",)}  # loopback only, port picked by the engine
        request = self.gpu_request(family)
        if request is not None:
            options["device_requests"] = [request]
            # cuda:N inside the container counts the GPUs it was given in nvidia-smi (PCI bus) order
            options["environment"]["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"
        with _engine_errors(f"starting a {family} container", family):
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
        threading.Thread(target=self._follow_logs, args=(worker,), name=f"tollama-logs-{name}", daemon=True).start()
        return worker

    def gpu_request(self, family: str) -> DeviceRequest | None:
        """The GPUs a family's container asks for: CUDA variant only, the family's
        ``TOLLAMA_FAMILY_GPUS`` set if listed, else ``TOLLAMA_GPUS``; None for no GPU. Inside the
        container its GPUs are numbered from 0 (``cuda:0`` is the first of them)."""
        if self.variant != "cuda":
            return None
        gpus = self.gpus.for_family(family)
        if gpus == "all":
            return DeviceRequest(count=-1, capabilities=[["gpu"]])
        if not gpus:
            return None
        return DeviceRequest(device_ids=list(gpus), capabilities=[["gpu"]])

    async def _wait_healthy(self, worker: DockerWorker) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.start_timeout
        next_status = loop.time() + 1.0
        delay = 0.05
        while True:
            if not worker.dead and loop.time() >= next_status:
                next_status = loop.time() + 1.0
                worker.dead = await asyncio.to_thread(self._status, worker) != "running"
            if worker.dead:
                raise WorkerUnavailable(
                    f"the {worker.family} container {worker.name} exited while starting",
                    family=worker.family,
                    log_tail=await asyncio.to_thread(self._fetch_logs, worker) or None,
                )
            with contextlib.suppress(TollamaError):
                await worker.client.health(timeout=2.0)
                return
            if loop.time() > deadline:
                raise WorkerUnavailable(
                    f"the {worker.family} container {worker.name} did not become healthy within {self.start_timeout:.0f}s",
                    family=worker.family,
                    log_tail=await asyncio.to_thread(self._fetch_logs, worker) or None,
                )
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 0.5)

    def _status(self, worker: DockerWorker) -> str:
        try:
            worker.container.reload()
        except docker.errors.NotFound:
            return "removed"
        except (docker.errors.DockerException, requests.RequestException):
            return "running"  # the engine hiccuped: let the health probe decide
        return str(worker.container.status)

    def _fetch_logs(self, worker: DockerWorker) -> str:
        with contextlib.suppress(docker.errors.DockerException, requests.RequestException):
            raw = worker.container.logs(tail=50)
            return raw.decode(errors="replace").strip()[-4000:]  # type: ignore[no-any-return]
        return worker.log_tail()

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
        self._closing.set()
        if self._events is not None:
            with contextlib.suppress(Exception):
                self._events.close()
        if self._refresh is not None:
            self._refresh.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresh
        await asyncio.to_thread(self._close_clients)

    def _close_clients(self) -> None:
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        self.client.close()
        if self._streams is not self.client:
            self._streams.close()

    # -- background threads ---------------------------------------------------------------
    def watch(self) -> None:
        """Start the thread that turns the engine's ``die`` events into ``alive() == False``."""
        self._watcher = threading.Thread(target=self._watch_events, name="tollama-docker-events", daemon=True)
        self._watcher.start()

    def _watch_events(self) -> None:
        filters = {"type": "container", "event": ["die", "destroy"], "label": self._label_filter()}
        backoff = 0.5
        while not self._closing.is_set():
            try:
                self._events = self._streams.events(decode=True, filters=filters)
                self._mark_gone()  # whatever died while we were not subscribed
                for event in self._events:
                    worker = self._workers.get(event.get("id", ""))
                    if worker is not None and not worker.dead:
                        log.warning("the %s container %s died (%s)", worker.family, worker.name, event.get("status"))
                        worker.dead = True
                backoff = 0.5
            except Exception:
                log.debug("docker event stream failed", exc_info=True)
            self._closing.wait(backoff)
            backoff = min(backoff * 2, 10.0)

    def _mark_gone(self) -> None:
        for worker in list(self._workers.values()):
            if not worker.dead and self._status(worker) not in ("running", "created", "restarting"):
                worker.dead = True

    def _follow_logs(self, worker: DockerWorker) -> None:
        partial = ""
        with contextlib.suppress(Exception):
            stream = self._streams.api.logs(worker.id, stream=True, follow=True)
            for chunk in stream:
                lines = (partial + chunk.decode(errors="replace")).split("\n")
                partial = lines.pop()
                worker.logs.extend(lines)
        if partial:
            worker.logs.append(partial)


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
