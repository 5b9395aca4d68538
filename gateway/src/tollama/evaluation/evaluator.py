"""``POST /api/evaluate``: rolling-origin backtests of several models, scored with fev's metrics.

For each model, every window of every series is one independent series of ONE forecast request
(:mod:`tollama.evaluation.backtest`), served by the ordinary forecast path (validation, variants,
scheduler, one worker call). A model that cannot take the request (horizon over its limit, a
capability it lacks, a failing worker) or some windows (history shorter than it needs) is reported
in its leaderboard row with a warning; bad input is a 400 as for a forecast.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import msgspec

from tollama.errors import (
    InvalidRequest,
    InvalidValue,
    ModelNotFound,
    RuntimeNotInstalled,
    TollamaError,
    UnsupportedFeature,
    WorkerError,
)
from tollama.evaluation import backtest, leaderboard, metrics, scoring
from tollama.evaluation.schema import (
    DEFAULT_EVALUATE_METRICS,
    EvaluateEvent,
    EvaluateRequest,
    EvaluateResponse,
    LeaderboardRow,
    ModelResult,
    SeriesResult,
    WindowResult,
)
from tollama.forecasting import Forecaster, Prepared
from tollama.schema import DEFAULT_QUANTILES, ForecastRequest, ForecastResponse, SeriesForecast
from tollama.validation import checked_metrics

Progress = Callable[[EvaluateEvent], None]
BASELINE = "seasonal-naive"
_SERIES_PATH = re.compile(r"^\$\.series\[(\d+)\]")
#: Errors that mean "this model cannot take this evaluation", not "the request is wrong".
_MODEL_ERRORS = (UnsupportedFeature, ModelNotFound, RuntimeNotInstalled, WorkerError)


@dataclass
class ModelRun:
    result: ModelResult
    scores: dict[str, float | None]
    per_task: dict[tuple[int, int], float | None]
    inference_ms: float


def forecast_items(resp: ForecastResponse, p: Prepared) -> list[tuple[SeriesForecast, scoring.Item | None]]:
    """Pair each forecast with its :class:`~tollama.evaluation.scoring.Item` (``None`` without actuals)."""
    keys = list(resp.forecasts[0].quantiles) if resp.forecasts else []
    out = []
    for f, o in zip(resp.forecasts, p.checked.outputs, strict=True):
        mean = f.mean if o.multivariate else [f.mean]
        quants = [f.quantiles[k] if o.multivariate else [f.quantiles[k]] for k in keys]
        item = None
        if o.actuals is not None:
            item = scoring.Item(history=o.history, actuals=o.actuals, mean=mean, quantiles=quants,
                                seasonality=scoring.seasonality_for(o.freq, p.checked.seasonality))
        out.append((f, item))
    return out


class Evaluator:
    def __init__(self, forecaster: Forecaster) -> None:
        self.forecaster = forecaster

    def plan(self, req: EvaluateRequest) -> tuple[list[str], list[backtest.Cut], list[str]]:
        """Check the request (metrics, models, windows) before any worker starts."""
        quantiles = tuple(req.quantiles) if req.quantiles is not None else DEFAULT_QUANTILES
        names = checked_metrics(req.metrics if req.metrics is not None else DEFAULT_EVALUATE_METRICS, quantiles, "$.metrics")
        if names[0] not in metrics.ERROR_METRICS:
            raise InvalidValue(f"$.metrics[0]: the first metric ranks the leaderboard and must be an error metric, not {names[0]!r}",
                               path="$.metrics[0]", value=names[0], limit=list(metrics.ERROR_METRICS))
        if len(req.series) > self.forecaster.max_series:
            raise InvalidValue(f"$.series: {len(req.series)} series exceed the limit of {self.forecaster.max_series}",
                               path="$.series", value=len(req.series), limit=self.forecaster.max_series)
        for name in req.models:
            self.forecaster.models.resolve(name)
        cuts, warnings = backtest.cuts(req.series, req.horizon, req.windows, req.step or req.horizon, req.freq)
        return names, cuts, warnings

    async def evaluate(self, req: EvaluateRequest, progress: Progress | None = None) -> EvaluateResponse:
        start = time.perf_counter()
        names, cuts, warnings = self.plan(req)
        runs: list[ModelRun] = []
        total = len(req.models) * req.windows
        for name in req.models:
            run = await self._run_model(name, req, names, cuts)
            runs.append(run)
            if progress:
                for w in range(req.windows):
                    progress(EvaluateEvent(status="evaluating", model=name, window=w, completed=len(runs[:-1]) * req.windows + w + 1, total=total))
        tasks = sorted({(c.series, c.window) for c in cuts})
        errors = [[run.per_task.get(t) for run in runs] for t in tasks]
        base = next((i for i, n in enumerate(req.models) if self._is_baseline(n)), None)
        wins = leaderboard.win_rates(errors, len(runs))
        skill = leaderboard.skills(errors, len(runs), base)
        rank = leaderboard.ranks([run.scores.get(names[0]) for run in runs])
        rows = [LeaderboardRow(model=run.result.model, rank=rank[i], metrics=run.scores, win_rate=wins[i], skill=skill[i],
                               inference_ms=round(run.inference_ms, 3), warnings=run.result.warnings) for i, run in enumerate(runs)]
        rows.sort(key=lambda r: r.rank)
        return EvaluateResponse(
            horizon=req.horizon, windows=req.windows, step=req.step or req.horizon, metrics=names,
            quantiles=list(req.quantiles) if req.quantiles is not None else list(DEFAULT_QUANTILES),
            leaderboard=rows, results=[run.result for run in runs], warnings=warnings,
            total_ms=round((time.perf_counter() - start) * 1000, 3),
        )

    def _is_baseline(self, name: str) -> bool:
        try:
            return self.forecaster.models.resolve(name).entry.name == BASELINE
        except TollamaError:
            return False

    async def _run_model(self, name: str, req: EvaluateRequest, names: list[str], cuts: list[backtest.Cut]) -> ModelRun:
        warnings: list[str] = []
        empty = ModelRun(ModelResult(model=name, windows=[], warnings=warnings), dict.fromkeys(names), {}, 0.0)
        try:
            entry = self.forecaster.models.resolve(name).entry
            need = entry.capabilities.min_context
            # latest window first within a series: a worker names the first series it refuses, and dropping
            # that one and the series' earlier (shorter) windows then takes one retry
            kept = sorted((c for c in cuts if c.cutoff >= need), key=lambda c: (c.series, -c.window))
            if len(kept) < len(cuts):
                warnings.append(f"{len(cuts) - len(kept)} of {len(cuts)} windows leave fewer than the {need} points of history model {name!r} needs; they were skipped")
            if not kept:
                return empty
            while True:
                fc_req = ForecastRequest(
                    model=name, horizon=req.horizon, quantiles=req.quantiles, freq=req.freq, options=req.options, keep_alive=req.keep_alive, metrics=names,
                    series=[msgspec.structs.replace(c.history, id=f"{c.id}@{c.window}", actuals=_flat(c)) for c in kept],
                )
                prepared = self.forecaster.prepare(fc_req, max_series=len(kept))
                try:
                    resp = await self.forecaster.run(fc_req, prepared)
                    break
                except InvalidRequest as exc:
                    # the worker refused one series (too short for this model): drop it and its earlier windows, retry
                    bad = _refused(exc, kept)
                    if bad is None or not exc.details.get("worker_code"):
                        raise
                    dropped = [c for c in kept if c.series == bad.series and c.window <= bad.window]
                    kept = [c for c in kept if c not in dropped]
                    warnings.append(f"series {bad.id!r}: windows {sorted(c.window for c in dropped)} skipped: {exc.message}")
                    if not kept:
                        return empty
        except InvalidValue as exc:
            path = str(exc.details.get("path", ""))
            if path.startswith("$.horizon") or path.startswith("$.quantiles"):
                warnings.append(f"model {name!r} cannot take this evaluation: {exc.message}")
                return empty
            raise _original_path(exc, kept) from None
        except _MODEL_ERRORS as exc:
            warnings.append(f"model {name!r} cannot take this evaluation: {exc.message}")
            return empty
        except InvalidRequest as exc:
            warnings.append(f"model {name!r} cannot take this evaluation: {exc.message}")
            return empty
        warnings.extend(w for w in resp.warnings if w not in warnings)
        pairs = forecast_items(resp, prepared)
        windows: list[WindowResult] = []
        per_task: dict[tuple[int, int], float | None] = {}
        for k in range(req.windows):
            members = [(c, f, it) for c, (f, it) in zip(kept, pairs, strict=True) if c.window == k and it is not None]
            if not members:
                continue
            rows = []
            for c, f, _ in members:
                own = f.metrics or dict.fromkeys(names)  # the forecast path scored it alone
                per_task[(c.series, k)] = own.get(names[0])
                rows.append(SeriesResult(id=c.id, cutoff=c.cutoff_label, metrics=own, forecast=f if req.return_forecasts else None))
            together = scoring.score(names, [it for _, _, it in members], prepared.checked.quantiles)
            windows.append(WindowResult(window=k, metrics=together, series=rows))
        scores = metrics.mean_over_windows([w.metrics for w in windows]) if windows else dict.fromkeys(names)
        return ModelRun(ModelResult(model=name, windows=windows, warnings=warnings), scores, per_task, resp.inference_ms)


def _flat(c: backtest.Cut) -> list[object]:
    """Actuals shaped like the cut's target: flat for a univariate series, one list per variate otherwise."""
    nested = bool(c.history.target) and isinstance(c.history.target[0], list)
    return list(c.actuals) if nested else list(c.actuals[0])


def _refused(exc: InvalidRequest, cuts: list[backtest.Cut]) -> backtest.Cut | None:
    """The cut a worker's refusal names (``series 'id@k'``), if any."""
    for c in cuts:
        if f"'{c.id}@{c.window}'" in exc.message:
            return c
    return None


def _original_path(exc: InvalidValue, cuts: list[backtest.Cut]) -> InvalidValue:
    """Name the request's own series (and the window) in an error about the evaluation's batch."""
    path = str(exc.details.get("path", ""))
    m = _SERIES_PATH.match(path)
    if not m or int(m.group(1)) >= len(cuts):
        return exc
    c = cuts[int(m.group(1))]
    new = f"$.series[{c.series}]" + path[m.end():]
    message = exc.message.replace(m.group(0), new, 1) + f" (window {c.window})"
    return InvalidValue(message, path=new, value=exc.details.get("value"), limit=exc.details.get("limit"), window=c.window)
