"""The forecast service: validate → lease a loaded model → one worker call → response.

Validation (against the registry capabilities and the model's parameters) happens
before any worker is started. Streaming callers get the lifecycle as it happens:
``queued`` → (``loading``) → ``running`` → ``done``.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tollama_kit import protocol as wire

from tollama.keepalive import parse_keep_alive
from tollama.models import Models, Resolved
from tollama.runtime.base import Runtime
from tollama.scheduler import Scheduler
from tollama.schema import ForecastRequest, ForecastResponse, SeriesForecast, ValidateResponse
from tollama.validation import ValidatedForecast, validate

Emit = Callable[[str], None]


def _floats(data: bytes) -> list[float]:
    a = array("f")
    a.frombytes(data)
    return a.tolist()


class Forecaster:
    def __init__(self, models: Models, scheduler: Scheduler, runtime: Runtime, *, device: str, max_series: int, default_keep_alive: float | None) -> None:
        self.models = models
        self.scheduler = scheduler
        self.runtime = runtime
        self.device = device
        self.max_series = max_series
        self.default_keep_alive = default_keep_alive

    def prepare(self, req: ForecastRequest) -> tuple[Resolved, ValidatedForecast]:
        resolved = self.models.resolve(req.model)
        checked = validate(req, resolved.ref.full, resolved.entry.capabilities, resolved.params, max_series=self.max_series)
        return resolved, checked

    def dry_run(self, req: ForecastRequest) -> ValidateResponse:
        resolved, checked = self.prepare(req)
        self.runtime.check(resolved.entry.family)
        return ValidateResponse(
            valid=True, model=resolved.ref.full, family=resolved.entry.family, horizon=checked.horizon,
            quantiles=list(checked.quantiles), series=len(checked.outputs), warnings=checked.warnings,
        )

    def keep_alive(self, req: ForecastRequest, resolved: Resolved) -> float | None:
        if req.keep_alive is not None:
            return parse_keep_alive(req.keep_alive)
        if "keep_alive" in resolved.params:
            return parse_keep_alive(resolved.params["keep_alive"], "keep_alive (TSModelfile)")
        return self.default_keep_alive

    async def forecast(self, req: ForecastRequest, emit: Emit | None = None) -> ForecastResponse:
        start = time.perf_counter()
        resolved, checked = self.prepare(req)
        keep_alive = self.keep_alive(req, resolved)
        self.runtime.check(resolved.entry.family)
        if emit:
            emit("queued")
        spec = resolved.spec(self.models.store, self.device)
        async with self.scheduler.lease(spec, keep_alive, emit) as lease:
            if emit:
                emit("running")
            checked.batch.key = lease.key
            result = await lease.client.forecast(checked.batch)
        return self._response(resolved, checked, result, lease.load_ms, lease.queue_ms, start)

    def _response(self, resolved: Resolved, checked: ValidatedForecast, result: wire.ForecastResult, load_ms: float, queue_ms: float, start: float) -> ForecastResponse:
        levels = [_level(q) for q in result.quantiles]
        forecasts = []
        n_levels, horizon = len(levels), checked.horizon
        for out in checked.outputs:
            means: list[list[float]] = []
            quants: list[list[list[float]]] = [[] for _ in levels]
            for idx in out.parts:
                s = result.series[idx]
                mean = _floats(s.mean)
                q = _floats(s.quantiles)
                for v in range(s.n_targets):
                    means.append(mean[v * horizon:(v + 1) * horizon])
                    for li in range(n_levels):
                        off = (li * s.n_targets + v) * horizon
                        quants[li].append(q[off:off + horizon])
            if out.multivariate:
                forecasts.append(SeriesForecast(id=out.id, mean=means, quantiles=dict(zip(levels, quants, strict=True)), timestamps=out.timestamps))
            else:
                forecasts.append(SeriesForecast(id=out.id, mean=means[0], quantiles={lv: qs[0] for lv, qs in zip(levels, quants, strict=True)}, timestamps=out.timestamps))
        return ForecastResponse(
            model=resolved.ref.full, digest=resolved.digest, family=resolved.entry.family, device=result.device,
            horizon=horizon, quantiles=list(result.quantiles), forecasts=forecasts,
            warnings=checked.warnings + [w for w in result.warnings if w not in checked.warnings],
            load_ms=round(load_ms, 3), queue_ms=round(queue_ms, 3), inference_ms=round(result.inference_ms, 3),
            total_ms=round((time.perf_counter() - start) * 1000, 3), created_at=datetime.now(UTC).isoformat(),
        )


def _level(q: float) -> str:
    text = repr(round(q, 6))
    return text[:-2] if text.endswith(".0") else text


__all__: list[Any] = ["Forecaster"]
