"""``/``, ``/api/version``, ``/api/info``, health and readiness, ``/metrics``."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from litestar import Request, Response, get
from litestar.di import NamedDependency
from tollama_kit.protocol import PROTOCOL_VERSION

from tollama import __version__
from tollama.api.openapi import documented
from tollama.forecasting import Forecaster
from tollama.metrics import CONTENT_TYPE, Metrics
from tollama.models import Models
from tollama.readiness import ReadinessCheck
from tollama.runtime.base import Runtime
from tollama.runtime.process import ProcessRuntime

_JSON = msgspec.json.Encoder()


class Version(msgspec.Struct, kw_only=True):
    version: str
    protocol_version: int


class Environments(msgspec.Struct, kw_only=True):
    """Where the process runtime looks for family environments."""

    dir: str
    variant: str


class Info(msgspec.Struct, kw_only=True):
    """``GET /api/info``: the catalogue (one row per registry entry), the families and the runtime."""

    version: str
    runtime: str
    families: list[str]
    environments: Environments | None
    models: list[dict[str, Any]]


class Health(msgspec.Struct, kw_only=True):
    status: Literal["ok"]


class Ready(msgspec.Struct, kw_only=True):
    """``GET /readyz`` when everything can serve: each check is ``"ok"`` (503 ``not_ready`` names the failing ones)."""

    status: Literal["ready"]
    checks: dict[str, str]


_TEXT = {"text/plain": {"type": "string"}}


_ROOT_HTML = '<!doctype html><title>tollama</title><p>tollama is running. <a href="/ui">Open the playground</a></p>\n'


@get("/", sync_to_thread=False, media_type="text/plain", operation_class=documented(ok_media={**_TEXT, "text/html": {"type": "string"}}, public=True))
def root(request: Request[Any, Any, Any]) -> Response[str]:
    """Ollama's "is running" line; a browser (Accept: text/html) gets it with a link to the playground."""
    link = {"link": '</ui>; rel="playground"'}
    if "text/html" in request.headers.get("accept", ""):
        return Response(_ROOT_HTML, media_type="text/html; charset=utf-8", headers=link)
    return Response("tollama is running", media_type="text/plain", headers=link)


@get("/api/version", sync_to_thread=False, operation_class=documented(ok=Version, public=True))
def version() -> Response[bytes]:
    return Response(_JSON.encode(Version(version=__version__, protocol_version=PROTOCOL_VERSION)), media_type="application/json")


@get("/api/info", sync_to_thread=False, operation_class=documented(ok=Info))
def info(models: NamedDependency[Models], forecaster: NamedDependency[Forecaster]) -> Response[bytes]:
    body = Info(version=__version__, runtime=forecaster.runtime.name, families=models.registry.families(),
                environments=_environments(forecaster.runtime), models=models.catalogue())
    return Response(_JSON.encode(body), media_type="application/json")


def _environments(runtime: Runtime) -> Environments | None:
    """Where this server's process runtime looks for family environments (``tollama run`` installs
    there); None when no process runtime serves (docker only, static)."""
    process = runtime if isinstance(runtime, ProcessRuntime) else getattr(runtime, "process", None)
    if not isinstance(process, ProcessRuntime):
        return None
    return Environments(dir=str(process.runtimes_dir), variant=process.variant)


@get("/healthz", sync_to_thread=False, operation_class=documented(ok=Health, public=True))
def healthz() -> Response[bytes]:
    return Response(_JSON.encode(Health(status="ok")), media_type="application/json")


@get("/readyz", operation_class=documented(ok=Ready, errors=("not_ready",), public=True))
async def readyz(readiness: NamedDependency[ReadinessCheck]) -> Response[bytes]:
    """200 when the gateway, the store and every static or running worker answer; else 503 naming what fails."""
    result = await readiness()
    return Response(_JSON.encode(result.body()), status_code=200 if result.ok else 503, media_type="application/json")


@get("/metrics", sync_to_thread=False, operation_class=documented(ok_media={CONTENT_TYPE.split(";")[0]: {"type": "string"}}))
def metrics(metrics: NamedDependency[Metrics]) -> Response[bytes]:
    return Response(metrics.render(), media_type=CONTENT_TYPE)


ROUTES = [root, version, info, healthz, readyz, metrics]
