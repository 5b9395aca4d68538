"""Choose the runtime from settings: ``auto | docker | process | static``."""

from __future__ import annotations

import logging

from tollama.registry import Registry
from tollama.runtime.base import Runtime
from tollama.runtime.process import ProcessRuntime
from tollama.runtime.static import StaticRuntime, parse_workers
from tollama.settings import Settings

log = logging.getLogger("tollama.runtime")


def make_runtime(settings: Settings) -> Runtime:
    if settings.family_gpus.strip():  # family names are checked against the registry at startup
        settings.gpu_assignment(Registry.load(settings.registry_file).families())
    kind = settings.runtime
    if kind == "static":
        return StaticRuntime(parse_workers(settings.static_workers), store_root=settings.store_dir, request_timeout=settings.request_timeout)
    if kind in ("docker", "auto"):
        try:
            from tollama.runtime.docker import DockerRuntime  # optional engine
        except ImportError:
            DockerRuntime = None  # type: ignore[assignment,misc]  # noqa: N806
        if DockerRuntime is not None:
            runtime = DockerRuntime.connect(settings, required=kind == "docker")
            if runtime is not None:
                if kind == "docker":
                    return runtime
                return runtime.with_fallback(_process(settings))
        elif kind == "docker":
            raise RuntimeError("TOLLAMA_RUNTIME=docker but the docker runtime is not available")
    if kind not in ("auto", "process", "docker"):
        raise ValueError(f"TOLLAMA_RUNTIME must be auto, docker, process or static; got {kind!r}")
    return _process(settings)


def _process(settings: Settings) -> ProcessRuntime:
    return ProcessRuntime(
        settings.runtimes_dir, settings.run_dir, variant=settings.variant,
        start_timeout=settings.worker_start_timeout, request_timeout=settings.request_timeout, threads=settings.worker_threads,
        gpus=settings.gpu_assignment(),
    )
