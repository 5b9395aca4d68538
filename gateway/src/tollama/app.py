"""The app factory and its wiring: the one place where collaborators are built.

``create_app(settings)`` only wires: it reads files (registry, store) and builds objects, and
connects to nothing. The app's lifespan owns the long-lived resources: it opens the runtime
(Docker engine connection, orphan reconciliation, the event-watcher thread), starts the
scheduler's reaper, and at its end closes them and the hub's httpx client (built on first pull).
Tests pass a ``runtime`` or ``hub_transport`` to swap in fakes or test servers.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.middleware import DefineMiddleware
from litestar.openapi.config import OpenAPIConfig

from tollama import __version__
from tollama.api import evaluate as evaluate_routes
from tollama.api import forecast as forecast_routes
from tollama.api import kserve as kserve_routes
from tollama.api import models as model_routes
from tollama.api import nixtla as nixtla_routes
from tollama.api import openapi
from tollama.api import sagemaker as sagemaker_routes
from tollama.api import system as system_routes
from tollama.api import ui as ui_routes
from tollama.api.auth import AuthMiddleware, load_keys
from tollama.api.cors import cors_config
from tollama.api.errors import on_http_error, on_tollama_error, on_unexpected
from tollama.api.request_id import RequestIdMiddleware, before_send
from tollama.errors import TollamaError
from tollama.evaluation.auto import AutoForecaster
from tollama.evaluation.evaluator import Evaluator
from tollama.families import Families
from tollama.forecasting import Forecaster
from tollama.hub import HubClient
from tollama.keepalive import parse_keep_alive
from tollama.logs import configure as configure_logging
from tollama.memory import ram_budget, vram_budget
from tollama.metrics import Metrics
from tollama.models import Models
from tollama.pull import Puller
from tollama.readiness import ReadinessCheck, handle_probes
from tollama.registry import Registry
from tollama.result_cache import ResultCache
from tollama.runtime.base import Runtime
from tollama.runtime.select import make_runtime
from tollama.scheduler import Scheduler
from tollama.settings import Settings
from tollama.store import ModelStore


class Services:
    """Everything the handlers depend on, built once per app."""

    def __init__(self, settings: Settings, runtime: Runtime, hub_transport: httpx.AsyncBaseTransport | None) -> None:
        self.settings = settings
        self.registry = Registry.load(settings.registry_file, Families.load(settings.family_roots))
        self.store = ModelStore(settings.store_dir)
        self.models = Models(self.store, self.registry)
        self.models.ensure_builtins()
        self.runtime = runtime
        keep_alive = parse_keep_alive(settings.keep_alive, "TOLLAMA_KEEP_ALIVE")
        self.scheduler = Scheduler(
            runtime, max_loaded_models=settings.max_loaded_models,
            max_queue=settings.max_queue, memory_budget=ram_budget(str(settings.memory_budget)),
            vram_budget=vram_budget(str(settings.vram_budget), settings.variant, settings.gpu_assignment()),
        )
        self.forecaster = Forecaster(
            self.models, self.scheduler, runtime, device=settings.device, max_series=settings.max_series,
            default_keep_alive=keep_alive, cache=ResultCache(settings.cache_max_bytes),
        )
        self.evaluator = Evaluator(self.forecaster)
        self.forecaster.auto = AutoForecaster(self.evaluator).forecast
        self._hub_transport = hub_transport
        self._http: httpx.AsyncClient | None = None
        self._puller: Puller | None = None
        self.metrics = Metrics(known=self.models.installed_name)
        self.metrics.watch(self.scheduler)
        self.metrics.watch_cache(self.forecaster.cache)
        self.readiness = ReadinessCheck(
            self.store.root, runtime_probes=getattr(runtime, "probes", dict),
            running=lambda: handle_probes(self.scheduler.running()),
            failing=self.scheduler.crash_policy.failing_families,
        )

    @property
    def puller(self) -> Puller:
        """Built on first use: an idle gateway holds no TLS context and no hub connection pool."""
        if self._puller is None:
            self._http = httpx.AsyncClient(transport=self._hub_transport, timeout=httpx.Timeout(30.0, read=120.0), follow_redirects=False)
            self._puller = Puller(self.store, HubClient.from_settings(self._http, self.settings), concurrency=self.settings.pull_concurrency)
        return self._puller

    async def close(self) -> None:
        await self.scheduler.close()
        if self._http is not None:
            await self._http.aclose()


def create_app(
    settings: Settings, *, runtime: Runtime | None = None, hub_transport: httpx.AsyncBaseTransport | None = None,
) -> Litestar:
    """The gateway app (its OpenAPI document is built here too: :func:`tollama.api.openapi.attach`)."""
    configure_logging(settings.log_level, settings.log_format)
    keys = load_keys(settings.api_keys, settings.api_keys_file)
    services = Services(settings, runtime or make_runtime(settings), hub_transport)

    @contextlib.asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        try:
            await services.runtime.open()  # engine connection, orphan cleanup, watcher threads: here, not in create_app
            services.scheduler.start_reaper()
            services.readiness.started = True
            yield
        finally:
            services.readiness.started = False
            await services.close()

    def const(value: Any) -> Provide:
        return Provide(lambda: value, use_cache=True, sync_to_thread=False)

    app = Litestar(
        route_handlers=[*system_routes.ROUTES, *model_routes.ROUTES, *forecast_routes.ROUTES, *evaluate_routes.ROUTES,
                        *nixtla_routes.ROUTES, *kserve_routes.ROUTES, *sagemaker_routes.ROUTES, *ui_routes.ROUTES],
        dependencies={
            "models": const(services.models),
            "forecaster": const(services.forecaster),
            "counted_forecaster": const(forecast_routes.CountedForecaster(services.forecaster, services.metrics)),
            "evaluator": const(services.evaluator),
            "scheduler": const(services.scheduler),
            "puller": Provide(lambda: services.puller, use_cache=False, sync_to_thread=False),
            "metrics": const(services.metrics),
            "import_roots": const(settings.import_roots),
            "readiness": const(services.readiness),
        },
        middleware=[RequestIdMiddleware, *([DefineMiddleware(AuthMiddleware, keys=keys)] if keys else [])],
        cors_config=cors_config(settings.origins),
        before_send=[before_send],
        exception_handlers={TollamaError: on_tollama_error, HTTPException: on_http_error, Exception: on_unexpected},
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(title="tollama", version=__version__, path="/schema"),
        request_max_body_size=settings.max_body_bytes,
        on_app_init=[_keep_state(services)],
        logging_config=None,  # tollama.logs configures logging; Litestar's default adds a queue thread per record
        debug=False,
    )
    openapi.attach(app)
    return app


def _keep_state(services: Services) -> Any:
    def hook(config: AppConfig) -> AppConfig:
        config.state["services"] = services
        return config

    return hook
