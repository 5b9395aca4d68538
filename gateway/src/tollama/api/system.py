"""``/``, ``/api/version``, ``/api/info``, health and readiness, ``/metrics``."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get
from litestar.di import NamedDependency
from tollama_kit.protocol import PROTOCOL_VERSION

from tollama import __version__
from tollama.forecasting import Forecaster
from tollama.metrics import CONTENT_TYPE, Metrics
from tollama.models import Models
from tollama.readiness import ReadinessCheck
from tollama.runtime.base import Runtime
from tollama.runtime.process import ProcessRuntime

_JSON = msgspec.json.Encoder()


_ROOT_HTML = '<!doctype html><title>tollama</title><p>tollama is running. <a href="/ui">Open the playground</a></p>\n'


@get("/", sync_to_thread=False, media_type="text/plain")
def root(request: Request[Any, Any, Any]) -> Response[str]:
    """Ollama's "is running" line; a browser (Accept: text/html) gets it with a link to the playground."""
    link = {"link": '</ui>; rel="playground"'}
    if "text/html" in request.headers.get("accept", ""):
        return Response(_ROOT_HTML, media_type="text/html; charset=utf-8", headers=link)
    return Response("tollama is running", media_type="text/plain", headers=link)


@get("/api/version", sync_to_thread=False)
def version() -> dict[str, Any]:
    return {"version": __version__, "protocol_version": PROTOCOL_VERSION}


@get("/api/info", sync_to_thread=False)
def info(models: NamedDependency[Models], forecaster: NamedDependency[Forecaster]) -> Response[bytes]:
    catalogue = models.catalogue()
    body = {
        "version": __version__,
        "runtime": forecaster.runtime.name,
        "families": models.registry.families(),
        "environments": _environments(forecaster.runtime),
        "models": catalogue,
    }
    return Response(_JSON.encode(body), media_type="application/json")


def _environments(runtime: Runtime) -> dict[str, str] | None:
    """Where this server's process runtime looks for family environments (``tollama run`` installs
    there); None when no process runtime serves (docker only, static)."""
    process = runtime if isinstance(runtime, ProcessRuntime) else getattr(runtime, "process", None)
    if not isinstance(process, ProcessRuntime):
        return None
    return {"dir": str(process.runtimes_dir), "variant": process.variant}


@get("/healthz", sync_to_thread=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz")
async def readyz(readiness: NamedDependency[ReadinessCheck]) -> Response[bytes]:
    """200 when the gateway, the store and every static or running worker answer; else 503 naming what fails."""
    result = await readiness()
    return Response(_JSON.encode(result.body()), status_code=200 if result.ok else 503, media_type="application/json")


@get("/metrics", sync_to_thread=False)
def metrics(metrics: NamedDependency[Metrics]) -> Response[bytes]:
    return Response(metrics.render(), media_type=CONTENT_TYPE)


ROUTES = [root, version, info, healthz, readyz, metrics]
