"""``/``, ``/api/version``, ``/api/info``, health and readiness, ``/metrics``."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get
from litestar.di import NamedDependency
from tollama_kit.protocol import PROTOCOL_VERSION

from tollama import __version__
from tollama.forecasting import Forecaster
from tollama.metrics import Metrics
from tollama.models import Models
from tollama.scheduler import Scheduler

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
        "models": catalogue,
    }
    return Response(_JSON.encode(body), media_type="application/json")


@get("/healthz", sync_to_thread=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", sync_to_thread=False)
def readyz(models: NamedDependency[Models]) -> dict[str, Any]:
    return {"status": "ready", "models": len(models.registry)}


@get("/metrics", sync_to_thread=False, media_type="text/plain; version=0.0.4")
def metrics(metrics: NamedDependency[Metrics], scheduler: NamedDependency[Scheduler]) -> str:
    return metrics.render(scheduler)


ROUTES = [root, version, info, healthz, readyz, metrics]
