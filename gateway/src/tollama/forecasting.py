"""The forecast service: (choose a variant →) validate → lease a loaded model → one worker call → response.

Validation (against the registry capabilities and the model's parameters) happens
before any worker is started. A registry entry that declares ``variants`` is served by
the pulled variant that fits the request's history and horizon (:meth:`Forecaster.choose`).
Streaming callers get the lifecycle as it happens: ``queued`` → (``loading``) → ``running`` → ``done``.
An ensemble (:mod:`tollama.ensembles`) is prepared as one prepared request per member and
served by running each and combining their forecasts.
A repeat of a reproducible worker call is answered from the result cache (:mod:`tollama.result_cache`):
no lease, no worker; the response is rebuilt from the request with ``cached: true``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from tollama_kit import protocol as wire

from tollama import ensembles
from tollama.errors import InvalidValue, ModelNotFound, TollamaError, VariantNotPulled
from tollama.evaluation import scoring
from tollama.floats import from_float32_bytes
from tollama.models import Models, Resolved
from tollama.registry import RegistryEntry, pick_variant
from tollama.result_cache import ResultCache, cacheable, key_of
from tollama.runtime.base import Runtime
from tollama.scheduler import Scheduler
from tollama.schema import ForecastRequest, ForecastResponse, SeriesForecast, ValidateResponse
from tollama.validation import ValidatedForecast, effective, history, validate

Emit = Callable[[str], None]


@dataclass(frozen=True)
class Prepared:
    model: str
    """The name the request asked for (the response's ``model``)."""
    serving: Resolved
    """The model that runs it: the requested one, or the variant chosen for it."""
    checked: ValidatedForecast
    members: tuple[tuple[ForecastRequest, Prepared], ...] = ()
    """An ensemble: each member's request and its prepared form (``checked`` is then the first member's)."""


def _shape(e: RegistryEntry) -> str:
    return f"context {e.capabilities.max_context}, max horizon {e.capabilities.max_horizon}"


class Forecaster:
    def __init__(self, models: Models, scheduler: Scheduler, runtime: Runtime, *, device: str, max_series: int, default_keep_alive: float | None,
                 cache: ResultCache | None = None) -> None:
        self.models = models
        self.cache = cache if cache is not None else ResultCache(0)
        self.scheduler = scheduler
        self.runtime = runtime
        self.device = device
        self.max_series = max_series
        self.default_keep_alive = default_keep_alive
        self.auto: Callable[[ForecastRequest, Emit | None], Awaitable[ForecastResponse]] | None = None
        """Serves ``model: "auto"`` (:class:`~tollama.evaluation.auto.AutoForecaster`), wired by the app."""

    def prepare(self, req: ForecastRequest, max_series: int | None = None, requested: Resolved | None = None) -> Prepared:
        requested = requested or self.models.resolve(req.model)
        if ensembles.is_ensemble(requested.manifest):
            return self._prepare_ensemble(req, requested, max_series)
        serving, notes = self.choose(req, requested)
        checked = validate(
            req, serving.ref.full, serving.entry.capabilities, serving.params, max_series=max_series or self.max_series,
            server_keep_alive=self.default_keep_alive,
        )
        checked.warnings[:0] = notes
        return Prepared(requested.ref.full, serving, checked)

    def _prepare_ensemble(self, req: ForecastRequest, ens: Resolved, max_series: int | None) -> Prepared:
        """Each member validates the request (with the ensemble's parameters over its own), so an error names the member."""
        common = ensembles.shared(ens.params)
        eff = effective(req, common)
        sub = msgspec.structs.replace(req, horizon=eff.horizon, quantiles=list(eff.quantiles), stream=False)
        parts = []
        for name in ensembles.members(ens.manifest):
            try:
                member = self.models.resolve(name)
            except ModelNotFound as exc:
                raise ensembles.missing(ens.ref.full, name, exc) from None
            member = dataclasses.replace(member, params={**member.params, **common})
            member_req = msgspec.structs.replace(sub, model=name)
            try:
                parts.append((member_req, self.prepare(member_req, max_series, member)))
            except TollamaError as exc:
                exc.message = f"ensemble {ens.ref.full!r}, member {name!r}: {exc.message}"
                raise
        first = parts[0][1].checked
        notes = [f"{r.model}: {w}" for r, p in parts for w in p.checked.warnings]
        return Prepared(ens.ref.full, ens, dataclasses.replace(first, warnings=notes), tuple(parts))

    def choose(self, req: ForecastRequest, requested: Resolved) -> tuple[Resolved, list[str]]:
        """The pulled variant that serves ``req`` (granite-tsfm's rule, :func:`pick_variant`), and warnings.

        Only a registry entry that declares variants, asked for by its own name, switches;
        anything else (an explicit variant, a copy, a created model) is served as asked.
        """
        if not self.models.switches(requested):
            return requested, []
        eff = effective(req, requested.params)
        horizon, context = eff.horizon, history(req, eff)
        name = requested.entry.name
        pulled = {r.entry.name: r for r in self.models.pulled_variants(requested.entry)}
        pulled[name] = requested  # installed under whichever tag was asked for
        best = pick_variant(self.models.registry.variants(requested.entry), context, horizon)
        if best is None:
            limit = max(v.capabilities.max_horizon for v in self.models.registry.variants(requested.entry))
            raise InvalidValue(f"$.horizon: horizon {horizon} exceeds the maximum of {limit} of every variant of model {name!r}",
                               path="$.horizon", value=horizon, limit=limit)
        chosen = pick_variant([r.entry for r in pulled.values()], context, horizon)
        if chosen is None:
            limit = max(r.entry.capabilities.max_horizon for r in pulled.values())
            raise VariantNotPulled(
                f"$.horizon: horizon {horizon} exceeds the maximum of {limit} of the pulled variants of model {name!r}; "
                f"variant {best.name!r} ({_shape(best)}) serves it: `tollama pull {best.name}`",
                path="$.horizon", value=horizon, limit=limit, variant=best.name,
            )
        notes = []
        if chosen.name != name:
            notes.append(f"model {name!r} was served by its variant {chosen.name!r} ({_shape(chosen)}) "
                         f"for {context} points of history and horizon {horizon}")
        if best.name != chosen.name:
            notes.append(f"variant {best.name!r} ({_shape(best)}) fits this request better but is not pulled: `tollama pull {best.name}`")
        return pulled[chosen.name], notes

    def dry_run(self, req: ForecastRequest) -> ValidateResponse:
        p = self.prepare(req)
        for part in [m for _, m in p.members] or [p]:
            self.runtime.check(part.serving.entry.family)
        return ValidateResponse(
            valid=True, model=p.model, family=p.serving.entry.family, horizon=p.checked.horizon,
            quantiles=list(p.checked.quantiles), series=len(p.checked.outputs), warnings=p.checked.warnings,
        )

    async def forecast(self, req: ForecastRequest, emit: Emit | None = None, *, max_series: int | None = None) -> ForecastResponse:
        """``max_series`` lifts the per-request series limit for callers that batch on their own (evaluation)."""
        if req.model == "auto" and self.auto is not None:
            return await self.auto(req, emit)
        start = time.perf_counter()
        return await self.run(req, self.prepare(req, max_series), emit, start)

    async def run(self, req: ForecastRequest, p: Prepared, emit: Emit | None = None, start: float | None = None) -> ForecastResponse:
        """Forecast an already prepared request (:meth:`prepare`): one lease, one worker call (or a cache hit)."""
        start = time.perf_counter() if start is None else start
        if p.members:
            return await self._run_ensemble(p, emit, start)
        resolved, checked = p.serving, p.checked
        if not self.scheduler.serving(resolved.entry.family):  # a live worker's runtime is there: no stat per request
            self.runtime.check(resolved.entry.family)
        checked.batch.key = resolved.digest  # the lease's key (ModelSpec.key): the batch is final from here
        payload = key = None
        if self.cache.enabled:
            if cacheable(resolved.entry.capabilities, checked.batch.options):
                payload = wire.encode(checked.batch)  # encoded once: hashed here, sent as is on a miss
                key = key_of(payload)
                hit = self.cache.get(key)
                if hit is not None:
                    if req.keep_alive is not None and self.scheduler.is_loaded(resolved.digest):
                        # The request's keep_alive still governs a loaded model (0 unloads it); a hit never loads one.
                        async with self.scheduler.lease(self.models.spec(resolved, self.device), checked.keep_alive):
                            pass
                    return self._response(p.model, resolved, checked, hit, 0.0, 0.0, start, cached=True)
            else:
                self.cache.bypass()
        if emit:
            emit("queued")
        spec = self.models.spec(resolved, self.device)
        async with self.scheduler.lease(spec, checked.keep_alive, emit) as lease:
            if emit:
                emit("running")
            result = await lease.client.forecast(checked.batch, payload)
        if key is not None:
            self.cache.put(key, result)
        return self._response(p.model, resolved, checked, result, lease.load_ms, lease.queue_ms, start)

    async def _run_ensemble(self, p: Prepared, emit: Emit | None, start: float) -> ForecastResponse:
        answers: list[ForecastResponse] = []
        for member_req, member in p.members:
            try:
                answers.append(await self.run(member_req, member, emit))
            except TollamaError as exc:
                exc.message = f"ensemble {p.model!r}, member {member_req.model!r}: {exc.message}"
                raise
        names = [r.model for r, _ in p.members]
        forecasts = ensembles.combine(ensembles.rule(p.serving.params), names, [a.forecasts for a in answers])
        checked, scored = p.checked, []
        for f, out in zip(forecasts, checked.outputs, strict=True):
            if checked.metrics and out.actuals is not None:
                item = scoring.Item(history=out.history, actuals=out.actuals, mean=f.mean if out.multivariate else [f.mean],
                                    quantiles=[f.quantiles[k] if out.multivariate else [f.quantiles[k]] for k in f.quantiles],
                                    seasonality=scoring.seasonality_for(out.freq, checked.seasonality))
                scored.append(item)
                f.metrics = scoring.score(checked.metrics, [item], checked.quantiles)
        warnings = list(checked.warnings)
        for name, a in zip(names, answers, strict=True):
            warnings.extend(w for w in (f"{name}: {x}" for x in a.warnings) if w not in warnings)
        return ForecastResponse(
            model=p.model, digest=p.serving.digest, family=",".join(sorted({a.family for a in answers})), device=answers[0].device,
            horizon=checked.horizon, quantiles=list(checked.quantiles), forecasts=forecasts, warnings=warnings,
            load_ms=round(sum(a.load_ms for a in answers), 3), queue_ms=round(sum(a.queue_ms for a in answers), 3),
            inference_ms=round(sum(a.inference_ms for a in answers), 3), total_ms=round((time.perf_counter() - start) * 1000, 3),
            created_at=datetime.now(UTC).isoformat(), done=True, cached=all(a.cached for a in answers),
            metrics=scoring.score(checked.metrics, scored, checked.quantiles) if scored else None,
        )

    def _response(self, model: str, resolved: Resolved, checked: ValidatedForecast, result: wire.ForecastResult, load_ms: float, queue_ms: float,
                  start: float, *, cached: bool = False) -> ForecastResponse:
        levels = [_level(q) for q in result.quantiles]
        forecasts = []
        scored: list[scoring.Item] = []
        n_levels, horizon = len(levels), checked.horizon
        # One conversion for the whole result: float32 → the shortest decimal each prints as.
        chunks = [b for s in result.series for b in (s.mean, s.quantiles)]
        numbers = from_float32_bytes(b"".join(chunks))
        starts, at = [], 0
        for b in chunks:
            starts.append(at)
            at += len(b) // 4
        for out in checked.outputs:
            means: list[list[float]] = []
            quants: list[list[list[float]]] = [[] for _ in levels]
            for idx in out.parts:
                s = result.series[idx]
                m0, q0 = starts[2 * idx], starts[2 * idx + 1]
                mean = numbers[m0:q0]
                q = numbers[q0:q0 + len(s.quantiles) // 4]
                for v in range(s.n_targets):
                    means.append(mean[v * horizon:(v + 1) * horizon])
                    for li in range(n_levels):
                        off = (li * s.n_targets + v) * horizon
                        quants[li].append(q[off:off + horizon])
            own = None
            if checked.metrics and out.actuals is not None:
                item = scoring.Item(history=out.history, actuals=out.actuals, mean=means, quantiles=quants,
                                    seasonality=scoring.seasonality_for(out.freq, checked.seasonality))
                scored.append(item)
                own = scoring.score(checked.metrics, [item], tuple(result.quantiles))
            if out.multivariate:
                forecasts.append(SeriesForecast(id=out.id, mean=means, quantiles=dict(zip(levels, quants, strict=True)), timestamps=out.timestamps, metrics=own))
            else:
                forecasts.append(SeriesForecast(id=out.id, mean=means[0], quantiles={lv: qs[0] for lv, qs in zip(levels, quants, strict=True)}, timestamps=out.timestamps, metrics=own))
        return ForecastResponse(
            model=model, digest=resolved.digest, family=resolved.entry.family, device=result.device,
            horizon=horizon, quantiles=list(result.quantiles), forecasts=forecasts,
            warnings=checked.warnings + [w for w in result.warnings if w not in checked.warnings],
            load_ms=round(load_ms, 3), queue_ms=round(queue_ms, 3), inference_ms=round(result.inference_ms, 3),
            total_ms=round((time.perf_counter() - start) * 1000, 3), created_at=datetime.now(UTC).isoformat(), done=True, cached=cached,
            metrics=scoring.score(checked.metrics, scored, tuple(result.quantiles)) if scored else None,
        )


def _level(q: float) -> str:
    text = repr(round(q, 6))
    return text[:-2] if text.endswith(".0") else text


__all__: list[Any] = ["Forecaster"]
