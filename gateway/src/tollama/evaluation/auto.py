"""``model: "auto"``: per series, the candidate with the best backtest score on its own last windows.

The candidates (``options.candidates``, default: the installed models whose runtime is installed and
whose maximum horizon covers the request) are backtested together by the :class:`Evaluator` on
``options.selection_windows`` windows (default 1) with ``options.selection_metric`` (default MASE);
each series is then forecast by its winner, one request per chosen model. A series too short to
backtest is served by the fallback (the best-ranked candidate overall, else the first) with a
warning. Choices are cached by the series' content hash and the candidate set (an LRU).
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass

import msgspec

from tollama import ensembles
from tollama.errors import InvalidValue, NotEnoughHistory, TollamaError
from tollama.evaluation import backtest
from tollama.evaluation.evaluator import Evaluator
from tollama.evaluation.schema import EvaluateRequest
from tollama.forecasting import Emit
from tollama.schema import ForecastRequest, ForecastResponse, Options, Scores, SeriesForecast
from tollama.validation import checked_metrics

AUTO = "auto"
_ENC = msgspec.json.Encoder()


@dataclass(frozen=True)
class Choice:
    model: str
    scores: Scores
    note: str | None = None


class Selections:
    """An LRU of choices, keyed by (series content hash, candidate set)."""

    def __init__(self, bound: int = 4096) -> None:
        self.bound = bound
        self._items: OrderedDict[tuple[str, tuple[str, ...]], Choice] = OrderedDict()
        self.hits = 0

    def get(self, key: tuple[str, tuple[str, ...]]) -> Choice | None:
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
            self.hits += 1
        return found

    def put(self, key: tuple[str, tuple[str, ...]], choice: Choice) -> None:
        self._items[key] = choice
        self._items.move_to_end(key)
        while len(self._items) > self.bound:
            self._items.popitem(last=False)


class AutoForecaster:
    def __init__(self, evaluator: Evaluator, selections: Selections | None = None) -> None:
        self.evaluator = evaluator
        self.forecaster = evaluator.forecaster
        self.selections = selections or Selections()

    def candidates(self, req: ForecastRequest) -> tuple[str, ...]:
        if req.options.candidates:
            for i, name in enumerate(req.options.candidates):
                if name == AUTO:
                    raise InvalidValue(f"$.options.candidates[{i}]: 'auto' cannot be its own candidate", path=f"$.options.candidates[{i}]", value=name)
                self.forecaster.models.resolve(name)
            return tuple(dict.fromkeys(req.options.candidates))
        found = []
        for tag in self.forecaster.models.tags().models:
            try:
                r = self.forecaster.models.resolve(tag.name)
                if ensembles.is_ensemble(r.manifest):
                    continue  # its members are candidates themselves; name it in options.candidates to include it
                self.forecaster.runtime.check(r.entry.family)
            except TollamaError:
                continue
            if req.horizon is None or req.horizon <= r.entry.capabilities.max_horizon:
                found.append(tag.name)
        if not found:
            raise InvalidValue("$.options.candidates: no installed model fits this request; name candidates", path="$.options.candidates", value=None)
        return tuple(sorted(found))

    async def forecast(self, req: ForecastRequest, emit: Emit | None = None) -> ForecastResponse:
        start = time.perf_counter()
        if req.horizon is None:
            raise InvalidValue("$.horizon: model 'auto' needs a horizon", path="$.horizon", value=None, limit=">= 1")
        candidates = self.candidates(req)
        windows = req.options.selection_windows or 1
        metric = checked_metrics([req.options.selection_metric or "MASE"], tuple(req.quantiles or (0.1, 0.5, 0.9)), "$.options.selection_metric")[0]
        plain = msgspec.structs.replace(req.options, candidates=None, selection_windows=None, selection_metric=None)
        keys = [self._key(raw, req, plain, metric, windows) for raw in req.series]
        choices: list[Choice | None] = [self.selections.get((k, candidates)) for k in keys]
        todo = [i for i, c in enumerate(choices) if c is None]
        warnings: list[str] = []
        if todo:
            for i, choice in zip(todo, await self._select([req.series[i] for i in todo], req, plain, candidates, metric, windows), strict=True):
                choices[i] = choice
                if choice.note is None:
                    self.selections.put((keys[i], candidates), choice)
        chosen = [c for c in choices if c is not None]
        by_model: dict[str, list[int]] = {}
        for i, c in enumerate(chosen):
            by_model.setdefault(c.model, []).append(i)
            if c.note:
                warnings.append(f"$.series[{i}]: {c.note}")
        forecasts: list[SeriesForecast | None] = [None] * len(req.series)
        parts: list[ForecastResponse] = []
        for model, idx in by_model.items():
            sub = msgspec.structs.replace(req, model=model, series=[req.series[i] for i in idx], options=plain, stream=False)
            resp = await self.forecaster.forecast(sub, emit)
            parts.append(resp)
            warnings.extend(f"{model}: {w}" for w in resp.warnings)
            for i, f in zip(idx, resp.forecasts, strict=True):
                f.model, f.scores = resp.model, chosen[i].scores
                forecasts[i] = f
        first = parts[0]
        return ForecastResponse(
            model=AUTO, digest=first.digest if len(parts) == 1 else "", family=",".join(sorted({p.family for p in parts})), device=first.device,
            horizon=first.horizon, quantiles=first.quantiles, forecasts=[f for f in forecasts if f is not None], warnings=warnings,
            load_ms=round(sum(p.load_ms for p in parts), 3), queue_ms=round(sum(p.queue_ms for p in parts), 3),
            inference_ms=round(sum(p.inference_ms for p in parts), 3), total_ms=round((time.perf_counter() - start) * 1000, 3),
            created_at=first.created_at, done=True, cached=all(p.cached for p in parts), metrics=first.metrics if len(parts) == 1 else None,
        )

    @staticmethod
    def _key(raw: object, req: ForecastRequest, options: Options, metric: str, windows: int) -> str:
        payload = _ENC.encode([raw, req.horizon, req.freq, req.quantiles, options, metric, windows])
        return hashlib.sha256(payload).hexdigest()

    async def _select(self, series: list[object], req: ForecastRequest, options: Options, candidates: tuple[str, ...], metric: str, windows: int) -> list[Choice]:
        assert req.horizon is not None
        clean = [msgspec.structs.replace(backtest.as_series(s), actuals=None) for s in series]  # type: ignore[arg-type]
        given = max((backtest.windows_given(backtest.length(s), req.horizon, req.horizon) for s in clean), default=0)
        fallback = candidates[0]
        if given == 0:
            return [Choice(fallback, {}, f"too short to backtest; served by the fallback {fallback!r}") for _ in series]
        ev = EvaluateRequest(models=list(candidates), series=list(clean), horizon=req.horizon, windows=min(windows, given), metrics=[metric],
                             quantiles=req.quantiles, freq=req.freq, options=options, keep_alive=req.keep_alive)
        try:
            result = await self.evaluator.evaluate(ev)
        except NotEnoughHistory:
            return [Choice(fallback, {}, f"too short to backtest; served by the fallback {fallback!r}") for _ in series]
        ranked = [row.model for row in result.leaderboard if row.metrics.get(metric) is not None]
        fallback = _name(ranked[0], candidates) if ranked else fallback
        per: list[dict[str, list[float]]] = [{} for _ in series]
        index = {backtest.as_series(s).id or str(i): i for i, s in enumerate(clean)}
        for res in result.results:
            for w in res.windows:
                for s in w.series:
                    value = s.metrics.get(metric)
                    if value is not None:
                        per[index[s.id]].setdefault(_name(res.model, candidates), []).append(value)
        out = []
        for scores in per:
            if not scores:
                out.append(Choice(fallback, {}, f"too short to backtest; served by the fallback {fallback!r}"))
                continue
            means = {m: sum(v) / len(v) for m, v in scores.items()}
            best = min(candidates, key=lambda m: (means.get(m) is None, means.get(m, 0.0)))
            out.append(Choice(best, {m: means.get(m) for m in candidates}))
        return out


def _name(model: str, candidates: tuple[str, ...]) -> str:
    return model if model in candidates else next((c for c in candidates if model.startswith(c)), model)
