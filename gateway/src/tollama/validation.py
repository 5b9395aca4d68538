"""Validate a forecast request against a model's capabilities, before any worker starts.

The result is a :class:`ValidatedForecast`: the wire batch (packed float32), the warnings
to return, and what is needed to shape the response (ids, output timestamps, how split
variates recombine). Every refusal is an :class:`~tollama.errors.InvalidValue` (400) or
:class:`~tollama.errors.UnsupportedFeature` (422) naming the JSON path, the limit and the value.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from typing import Any, cast

from tollama_kit import protocol as wire

from tollama import keepalive, timeaxis
from tollama.errors import InvalidValue, UnsupportedFeature
from tollama.evaluation import metrics
from tollama.registry import Capabilities
from tollama.schema import DEFAULT_QUANTILES, GATEWAY_OPTIONS, ForecastRequest, SeriesIn

#: Metrics of a forecast with actuals when the request names none.
DEFAULT_METRICS = ("MASE", "WQL")

_NAN = float("nan")

#: The server's keep_alive when a caller passes none (:data:`tollama.keepalive.DEFAULT`, parsed).
SERVER_KEEP_ALIVE = keepalive.parse_keep_alive(keepalive.DEFAULT)


@dataclass(frozen=True)
class Effective:
    """Request values after precedence: request > TSModelfile > registry defaults > server."""

    horizon: int
    quantiles: tuple[float, ...]
    freq: str | None
    options: dict[str, Any]
    covariates_mode: str


@dataclass
class Output:
    id: str
    parts: list[int]  # indices into batch.series (several when variates were split)
    timestamps: list[str] | None
    multivariate: bool
    freq: timeaxis.Freq | None = None
    history: list[list[float | None]] = field(default_factory=list)
    """The target as given, one list per variate (the metrics' in-sample scale)."""
    actuals: list[list[float | None]] | None = None
    """One list per variate, ``horizon`` long (``None`` = unknown), when the series gave actuals."""


@dataclass
class ValidatedForecast:
    batch: wire.ForecastBatch
    outputs: list[Output]
    keep_alive: float | None  # seconds an idle model stays loaded after this request; None = forever
    warnings: list[str] = field(default_factory=list)
    horizon: int = 0
    quantiles: tuple[float, ...] = ()
    metrics: list[str] = field(default_factory=list)
    """Canonical metric names to score ``actuals`` with (empty: no series has actuals)."""
    seasonality: int | None = None
    """``options.seasonality``; ``None``: each series' frequency decides."""


def _bad(path: str, message: str, value: Any = None, limit: Any = None) -> InvalidValue:
    return InvalidValue(f"{path}: {message}", path=path, value=value, limit=limit)


def _mixed(path: str) -> InvalidValue:
    return _bad(path, "target mixes numbers and lists; give numbers, or one list per variate", None, "one shape")


def _unsupported(path: str, message: str, model: str) -> UnsupportedFeature:
    return UnsupportedFeature(f"{path}: {message} (model {model!r}; set options.covariates_mode to 'best_effort' to drop it with a warning)", path=path, model=model)


def effective(req: ForecastRequest, params: dict[str, Any]) -> Effective:
    """Merge the request over the model's parameters (TSModelfile over registry defaults)."""
    horizon = req.horizon if req.horizon is not None else params.get("horizon")
    if horizon is None:
        raise _bad("$.horizon", "horizon is required (this model's TSModelfile sets none)", None, ">= 1")
    quantiles = tuple(req.quantiles) if req.quantiles is not None else tuple(params.get("quantiles", DEFAULT_QUANTILES))
    options = {k: v for k, v in params.items() if k not in ("horizon", "quantiles", "freq", "keep_alive")}
    for name in req.options.__struct_fields__:
        value = getattr(req.options, name)
        if value is not None:
            options[name] = value
    mode = str(options.pop("covariates_mode", "best_effort"))
    return Effective(int(horizon), quantiles, req.freq or params.get("freq"), options, mode)


def history(req: ForecastRequest, eff: Effective) -> int:
    """Points of history the model will see: the longest series, capped by ``options.context_length``."""
    longest = 0
    for raw in req.series:
        target = raw.target if isinstance(raw, SeriesIn) else raw
        first = target[0] if target else None
        longest = max(longest, len(first) if isinstance(first, list) else len(target))
    cap = eff.options.get("context_length")
    return min(longest, int(cap)) if isinstance(cap, int) and cap >= 1 else longest


def _check_quantiles(q: tuple[float, ...]) -> None:
    if not q:
        raise _bad("$.quantiles", "at least one quantile level is required", list(q), "(0, 1)")
    for i, level in enumerate(q):
        if not 0.0 < level < 1.0:
            raise _bad(f"$.quantiles[{i}]", f"quantile levels must lie in (0, 1); got {level}", level, "(0, 1)")
    for i in range(1, len(q)):
        if q[i] <= q[i - 1]:
            raise _bad(f"$.quantiles[{i}]", f"quantile levels must be sorted and unique; {q[i]} follows {q[i - 1]}", q[i], "increasing")


def _pack(values: list[float | None], path: str, caps: Capabilities, mode: str, model: str, warnings: list[str]) -> tuple[bytes, int]:
    """Pack one variate; returns (float32 bytes, number of missing values)."""
    if None not in values:
        try:
            return array("f", cast("list[float]", values)).tobytes(), 0
        except TypeError:
            raise _mixed(path) from None
    if any(isinstance(v, list) for v in values):
        raise _mixed(path)
    missing = values.count(None)
    if missing == len(values):
        raise _bad(path, "every value is null; a series needs at least one observation", None, ">= 1 observation")
    if caps.missing_values:
        return array("f", [_NAN if v is None else v for v in values]).tobytes(), missing
    if mode == "strict":
        raise UnsupportedFeature(f"{path}: {missing} missing values, and model {model!r} does not handle missing values", path=path, model=model)
    warnings.append(f"{path}: {missing} missing values were filled by linear interpolation ({model!r} does not handle missing values)")
    return array("f", _interpolate(values)).tobytes(), missing


def _interpolate(values: list[float | None]) -> list[float]:
    known = [(i, v) for i, v in enumerate(values) if v is not None]
    out: list[float] = []
    k = 0
    for i, v in enumerate(values):
        if v is not None:
            out.append(v)
            continue
        while k + 1 < len(known) and known[k + 1][0] < i:
            k += 1
        left = known[k] if known[k][0] < i else None
        right = next((p for p in known[k:] if p[0] > i), None)
        if left and right:
            w = (i - left[0]) / (right[0] - left[0])
            out.append(left[1] * (1 - w) + right[1] * w)
        else:
            out.append((left or right)[1])  # type: ignore[index]
    return out


def _covariate(values: list[float | str | None], expect: int, path: str) -> bytes | list[str]:
    if len(values) != expect:
        raise _bad(path, f"expected {expect} values, got {len(values)}", len(values), expect)
    if all(isinstance(v, str) for v in values):
        return values  # type: ignore[return-value]
    if any(v is None for v in values):
        raise _bad(path, "covariate values must not be null", None, "numbers or strings")
    if any(isinstance(v, str) for v in values):
        raise _bad(path, "a covariate is either numeric or categorical (all strings), not a mix", None, "one kind")
    return array("f", cast("list[float]", values)).tobytes()


class _Timeline:
    def __init__(self, eff_freq: str | None) -> None:
        self.request_freq = eff_freq
        self.batch_freq: str | None = None

    def forecast_stamps(self, s: SeriesIn, length: int, horizon: int, path: str, warnings: list[str]) -> list[str] | None:
        """The forecast's timestamps (``None`` without a time axis); :attr:`freq` is then the series' frequency."""
        own = s.freq is not None
        raw_freq = s.freq if own else self.request_freq
        self.fpath = f"{path}.freq" if own else "$.freq"
        self.freq: timeaxis.Freq | None = None
        if s.timestamps is not None:
            if len(s.timestamps) != length:
                raise _bad(f"{path}.timestamps", f"expected one timestamp per target value ({length}), got {len(s.timestamps)}", len(s.timestamps), length)
            stamps = []
            for j, raw in enumerate(s.timestamps):
                try:
                    stamps.append(timeaxis.parse_timestamp(raw))
                except timeaxis.FreqError as exc:
                    raise _bad(f"{path}.timestamps[{j}]", str(exc), raw, "ISO 8601") from None
            for j in range(1, len(stamps)):
                try:
                    ordered = stamps[j] > stamps[j - 1]
                except TypeError:
                    raise _bad(f"{path}.timestamps[{j}]", "mixes timezone-aware and naive timestamps", s.timestamps[j], "one kind") from None
                if not ordered:
                    raise _bad(f"{path}.timestamps[{j}]", f"timestamps must be strictly increasing; {s.timestamps[j]!r} does not follow {s.timestamps[j - 1]!r}", s.timestamps[j], "increasing")
            like = s.timestamps[-1]
            if raw_freq is None or raw_freq == "auto":
                try:
                    freq = timeaxis.infer(stamps)
                except timeaxis.FreqError as exc:
                    if raw_freq == "auto":
                        raise _bad(f"{path}.timestamps", str(exc), None, "regular spacing") from None
                    warnings.append(f"{path}: forecast timestamps omitted ({exc})")
                    return None
            else:
                freq = self._parse(raw_freq)
            last = stamps[-1]
        elif s.start is not None:
            if raw_freq is None or raw_freq == "auto":
                raise _bad(self.fpath, "a series given by start needs an explicit freq", raw_freq, "a pandas alias")
            freq = self._parse(raw_freq)
            try:
                first = timeaxis.parse_timestamp(s.start)
            except timeaxis.FreqError as exc:
                raise _bad(f"{path}.start", str(exc), s.start, "ISO 8601") from None
            last = timeaxis.axis(first, freq, length)[-1]
            like = s.start
        else:
            if raw_freq not in (None, "auto"):
                self.freq = self._parse(raw_freq)
                self.batch_freq = self.batch_freq or self.freq.alias
            elif raw_freq == "auto":
                raise _bad(self.fpath, "freq 'auto' needs timestamps to infer from", raw_freq, "timestamps")
            return None
        self.freq = freq
        self.batch_freq = self.batch_freq or freq.alias
        return [timeaxis.fmt(t, like) for t in timeaxis.future(last, freq, horizon)]

    def _parse(self, raw: str) -> timeaxis.Freq:
        try:
            return timeaxis.parse_freq(raw)
        except timeaxis.FreqError as exc:
            raise _bad(self.fpath, str(exc), raw, "a pandas alias or 'auto'") from None


def validate(
    req: ForecastRequest, model: str, caps: Capabilities, params: dict[str, Any], *, max_series: int,
    server_keep_alive: float | None = SERVER_KEEP_ALIVE,
) -> ValidatedForecast:
    """Everything the request says, checked and parsed (``keep_alive`` too) before anything acts on it."""
    eff = effective(req, params)
    keep_alive = keepalive.resolve(req.keep_alive, params.get("keep_alive"), server_keep_alive)
    horizon, mode = eff.horizon, eff.covariates_mode
    if horizon > caps.max_horizon:
        raise _bad("$.horizon", f"horizon {horizon} exceeds the maximum of {caps.max_horizon} for model {model!r}", horizon, caps.max_horizon)
    _check_quantiles(eff.quantiles)
    if not req.series:
        raise _bad("$.series", "at least one series is required", 0, ">= 1")
    if len(req.series) > max_series:
        raise _bad("$.series", f"{len(req.series)} series exceed the limit of {max_series}", len(req.series), max_series)
    context_limit = min(caps.max_context, int(eff.options.get("context_length") or caps.max_context))
    warnings: list[str] = []
    timeline = _Timeline(eff.freq)
    seen: dict[str, int] = {}
    series: list[wire.Series] = []
    outputs: list[Output] = []
    truncated = 0
    for i, raw in enumerate(req.series):
        path = f"$.series[{i}]"
        s = raw if isinstance(raw, SeriesIn) else SeriesIn(target=raw)  # type: ignore[arg-type]
        if s.id is not None and not s.id:
            raise _bad(f"{path}.id", "series id is empty; give a non-empty id or leave `id` out (the series' index is used)", "", "a non-empty string")
        sid = s.id if s.id is not None else str(i)
        if sid in seen:
            raise _bad(f"{path}.id", f"duplicate series id {sid!r} (first used by $.series[{seen[sid]}])", sid, "unique ids")
        seen[sid] = i
        if not s.target:
            raise _bad(f"{path}.target", "target is empty", 0, f">= {caps.min_context} values")
        nested = isinstance(s.target[0], list)
        # A flat target is checked for stray lists by _pack (array() refuses them) at C speed.
        if nested and not all(isinstance(v, list) for v in s.target):
            raise _mixed(f"{path}.target")
        variates: list[list[float | None]] = s.target if nested else [s.target]  # type: ignore[assignment,list-item]
        length = len(variates[0])
        for k, v in enumerate(variates):
            if len(v) != length:
                raise _bad(f"{path}.target[{k}]", f"every variate needs the same length; expected {length}, got {len(v)}", len(v), length)
        if length < caps.min_context:
            raise _bad(f"{path}.target", f"{length} values are fewer than the {caps.min_context} model {model!r} needs", length, caps.min_context)
        stamps = timeline.forecast_stamps(s, length, horizon, path, warnings)
        start = max(0, length - context_limit)
        if start:
            truncated += 1
        packed = [_pack(v[start:], f"{path}.target" + (f"[{k}]" if nested else ""), caps, mode, model, warnings)[0] for k, v in enumerate(variates)]
        past, future, static = _covariates(s, path, length, horizon, start, caps, mode, model, warnings)
        split = nested and len(variates) > 1 and not caps.multivariate
        if split:
            if mode == "strict" or past or future:
                raise UnsupportedFeature(f"{path}.target: {len(variates)} target variates, and model {model!r} is univariate", path=f"{path}.target", model=model)
            warnings.append(f"{path}: model {model!r} is univariate; its {len(variates)} variates were forecast independently")
        groups = [[p] for p in packed] if split else [packed]
        parts = []
        own_freq = timeline.freq.alias if s.freq is not None and timeline.freq is not None else None
        for g in groups:
            parts.append(len(series))
            series.append(wire.Series(id=sid, target=b"".join(g), length=length - start, n_targets=len(g), past_covariates=past, future_covariates=future, static_covariates=static, freq=own_freq))
        actuals = None if s.actuals is None else check_actuals(s.actuals, f"{path}.actuals", len(variates), nested, horizon)
        outputs.append(Output(id=sid, parts=parts, timestamps=stamps, multivariate=nested, freq=timeline.freq, history=variates, actuals=actuals))
    if truncated:
        warnings.append(f"{truncated} series were longer than the context of {context_limit} and were truncated to their last {context_limit} values")
    opts = {k: v for k, v in eff.options.items() if isinstance(v, (str, int, float, bool)) and k != "context_length" and k not in GATEWAY_OPTIONS}
    opts["context_length"] = context_limit
    batch = wire.ForecastBatch(key="", horizon=horizon, quantiles=list(eff.quantiles), series=series, freq=timeline.batch_freq, options=opts)
    names = _metric_names(req, eff.quantiles, any(o.actuals is not None for o in outputs), warnings)
    seasonality = eff.options.get("seasonality")
    return ValidatedForecast(batch=batch, outputs=outputs, keep_alive=keep_alive, warnings=warnings, horizon=horizon, quantiles=eff.quantiles,
                             metrics=names, seasonality=int(seasonality) if seasonality is not None else None)


def _metric_names(req: ForecastRequest, levels: tuple[float, ...], any_actuals: bool, warnings: list[str]) -> list[str]:
    if req.metrics is not None and not any_actuals:
        warnings.append("$.metrics: no series has actuals, so no metrics were computed")
        return []
    if not any_actuals:
        return []
    return checked_metrics(req.metrics if req.metrics is not None else DEFAULT_METRICS, levels, "$.metrics")


def checked_metrics(names: list[str] | tuple[str, ...], levels: tuple[float, ...], path: str) -> list[str]:
    """Canonical metric names; an unknown one, or one the quantile levels cannot serve, is a 400 at ``path[i]``."""
    if not names:
        raise _bad(path, "at least one metric is required", [], f"some of {sorted(metrics.NAMES.values())}")
    for i, name in enumerate(names):
        try:
            metrics.check([name], levels, f"{path}[{i}]")
        except metrics.MetricError as exc:
            message = str(exc).removeprefix(f"{path}[{i}]: ")
            raise _bad(f"{path}[{i}]", message, name, sorted(metrics.NAMES.values())) from None
    return metrics.check(names, levels, path)


def check_actuals(raw: list[Any], path: str, n_variates: int, nested: bool, horizon: int) -> list[list[float | None]]:
    """Actuals shaped like the target (numbers, or one list per variate), at most ``horizon`` long, padded with ``None``."""
    if nested:
        if len(raw) != n_variates or not all(isinstance(v, list) for v in raw):
            raise _bad(path, f"a multivariate series needs one list of actuals per variate ({n_variates})", len(raw), n_variates)
        rows: list[list[float | None]] = raw
    else:
        if any(isinstance(v, list) for v in raw):
            raise _bad(path, "a univariate series takes a flat list of actuals", None, "numbers or null")
        rows = [raw]
    for k, row in enumerate(rows):
        where = f"{path}[{k}]" if nested else path
        if len(row) > horizon:
            raise _bad(where, f"{len(row)} actuals exceed the horizon of {horizon}", len(row), horizon)
        if any(isinstance(v, list) for v in row):
            raise _bad(where, "actuals of a variate are numbers or null", None, "numbers or null")
    return [row + [None] * (horizon - len(row)) for row in rows]


def _covariates(
    s: SeriesIn, path: str, length: int, horizon: int, start: int, caps: Capabilities, mode: str, model: str, warnings: list[str]
) -> tuple[dict[str, bytes | list[str]], dict[str, bytes | list[str]], dict[str, float | str]]:
    past_given, future_given = _known_future(s, path, length, horizon)
    out: list[dict[str, bytes | list[str]]] = []
    for kind, given, expect, allowed in (
        ("past_covariates", past_given, length, caps.past_covariates),
        ("future_covariates", future_given, length + horizon, caps.future_covariates),
    ):
        kept: dict[str, bytes | list[str]] = {}
        for name, values in given.items():
            cpath = f"{path}.{kind}.{name}"
            value = _covariate(values, expect, cpath)
            categorical = isinstance(value, list)
            ok = allowed and (caps.categorical_covariates or not categorical)
            if not ok:
                what = f"categorical {kind.replace('_', ' ')}" if allowed else kind.replace("_", " ")
                if mode == "strict":
                    raise _unsupported(cpath, f"model {model!r} does not support {what}", model)
                warnings.append(f"{cpath}: dropped; model {model!r} does not support {what}")
                continue
            if start:
                value = value[start:] if categorical else value[start * 4 :]
            kept[name] = value
        out.append(kept)
    static: dict[str, float | str] = {}
    if s.static_covariates:
        if caps.static_covariates:
            static = dict(s.static_covariates)
        elif mode == "strict":
            raise _unsupported(f"{path}.static_covariates", f"model {model!r} does not support static covariates", model)
        else:
            warnings.append(f"{path}.static_covariates: dropped; model {model!r} does not support static covariates")
    for name, v in static.items():
        if isinstance(v, float) and not math.isfinite(v):
            raise _bad(f"{path}.static_covariates.{name}", "must be finite", v, "finite")
    return out[0], out[1], static


Covariates = dict[str, list[float | str | None]]


def _known_future(s: SeriesIn, path: str, length: int, horizon: int) -> tuple[Covariates, Covariates]:
    """Join the split form of a known-future covariate: a name in both ``past_covariates`` (T
    values) and ``future_covariates`` (H values), as Chronos-2, AWS's endpoints and Nixtla's
    ``X_df`` send it, is one future covariate of T + H values."""
    both = set(s.past_covariates) & set(s.future_covariates)
    if not both:
        return s.past_covariates, s.future_covariates
    past = {k: v for k, v in s.past_covariates.items() if k not in both}
    future = dict(s.future_covariates)
    for name in sorted(both):
        history, ahead = s.past_covariates[name], s.future_covariates[name]
        if len(history) != length or len(ahead) != horizon:
            raise _bad(
                f"{path}.future_covariates.{name}",
                f"covariate {name!r} is given in both past_covariates ({len(history)} values) and future_covariates ({len(ahead)} values); "
                f"give {length} past and {horizon} future values, or only future_covariates with {length + horizon}",
                [len(history), len(ahead)], [length, horizon],
            )
        future[name] = [*history, *ahead]
    return past, future
