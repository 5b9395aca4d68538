"""The Docker engine boundary: SDK and transport failures become typed errors (one context
manager, chained with ``from``), plus the two blocking reads of a container that the other
docker modules share (its status, its recent log)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import docker.errors
import requests

from tollama.errors import RuntimeNotInstalled, WorkerUnavailable

MANAGED = "tollama.managed"
INSTANCE = "tollama.instance"
FAMILY = "tollama.family"
WORKER_PORT = 8000
CONTAINER_STORE = "/models"


@contextlib.contextmanager
def engine_errors(what: str, family: str | None = None) -> Iterator[None]:
    """Translate Docker SDK / engine failures into a typed error, chained with ``from``."""
    try:
        yield
    except docker.errors.ImageNotFound as exc:
        raise RuntimeNotInstalled(f"{what}: {exc.explanation or exc}", family=family, runtime="docker") from exc
    except (docker.errors.DockerException, requests.RequestException) as exc:
        raise WorkerUnavailable(
            f"{what}: the Docker engine failed ({type(exc).__name__}: {exc})", family=family
        ) from exc


def container_status(container: Any) -> str:
    """Blocking: the container's state after a reload; ``removed`` if it is gone, ``running`` if the
    engine hiccuped (the caller's health probe then decides)."""
    try:
        container.reload()
    except docker.errors.NotFound:
        return "removed"
    except (docker.errors.DockerException, requests.RequestException):
        return "running"
    return str(container.status)


def recent_logs(container: Any, fallback: str) -> str:
    """Blocking: the last 50 lines the container wrote, or ``fallback`` if the engine cannot say."""
    with contextlib.suppress(docker.errors.DockerException, requests.RequestException):
        raw = container.logs(tail=50)
        return raw.decode(errors="replace").strip()[-4000:]  # type: ignore[no-any-return]
    return fallback
