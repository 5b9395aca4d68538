"""The baseline family: naive, seasonal naive, AutoETS and AutoTheta from Nixtla's statsforecast.

No weights and no torch. ``load`` picks the model class from the registry name (or the
snapshot's ``config.json`` ``{"model": ...}``) and warms it with one tiny forecast;
``forecast`` fits each variate of each series independently with the class's own
``forecast(y, h, level=...)`` and reads the prediction intervals as quantiles:

* ``q < 0.5`` → the lower bound of the ``(1 - 2q)·100 %`` interval (``lo-<level>``);
* ``q > 0.5`` → the upper bound of the ``(2q - 1)·100 %`` interval (``hi-<level>``);
* ``q = 0.5`` → the point forecast (the interval centre for the analytic, symmetric intervals).

So every level in (0, 1) is native: nothing is interpolated. The worker memoises statsforecast's
level → quantile step (:mod:`tollama_baseline.quantile_memo`): the same numbers, without a scipy
distribution frozen on every forecast.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
from statsforecast.models import AutoETS, AutoTheta, Naive, SeasonalNaive
from tollama_kit.adapter import ForecastInput, ForecastOutput, Loaded, Options, SeriesInput, SeriesOutput
from tollama_kit.errors import BadInput, Unsupported
from tollama_kit.notes import refuse_unusable
from tollama_kit.options import parse_options

from tollama_baseline import quantile_memo
from tollama_baseline.options import BaselineOptions
from tollama_baseline.seasonality import season_length_for

FAMILY = "baseline"
# Per-series warnings reach only the request that sent the series once the kit's SeriesOutput
# has a ``warnings`` field; with an older kit they go on the batch (every fused request sees them).
PER_SERIES_WARNINGS = "warnings" in {f.name for f in dataclasses.fields(SeriesOutput)}
MAX_HORIZON = 2048

# statsforecast raises these for series its models cannot fit (too short, degenerate).
_FIT_ERRORS = (
    ValueError,
    NotImplementedError,
    IndexError,
    ZeroDivisionError,
    FloatingPointError,
    np.linalg.LinAlgError,
)


@dataclass(frozen=True)
class ModelSpec:
    """One registry model: how to build it and what it needs."""

    name: str
    build: Callable[[int], Any]
    seasonal: bool
    min_length: Callable[[int], int]
    default_context: int | None = None


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("naive", lambda m: Naive(), seasonal=False, min_length=lambda m: 1),
        # SeasonalNaive returns NaN (with only a UserWarning) when the history is shorter than a season.
        ModelSpec("seasonal-naive", lambda m: SeasonalNaive(season_length=m), seasonal=True, min_length=lambda m: m),
        # AutoETS raises NotImplementedError("tiny datasets") below 7 points.
        ModelSpec(
            "auto-ets", lambda m: AutoETS(season_length=m), seasonal=True, min_length=lambda m: 7, default_context=512
        ),
        # AutoTheta raises NotImplementedError("tiny datasets") below 4 points.
        ModelSpec(
            "auto-theta",
            lambda m: AutoTheta(season_length=m),
            seasonal=True,
            min_length=lambda m: 4,
            default_context=512,
        ),
    )
}


@dataclass
class Handle:
    spec: ModelSpec
    defaults: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    """The options of one forecast call, parsed and checked."""

    season_length: int
    context_length: int | None


def resolve_model(name: str, path: str) -> ModelSpec:
    """The model for registry name ``name``; else the ``model`` key of ``path/config.json``."""
    if name in MODELS:
        return MODELS[name]
    config = Path(path) / "config.json"
    if config.is_file():
        try:
            declared = json.loads(config.read_text()).get("model")
        except (OSError, ValueError, AttributeError) as exc:
            raise BadInput(f"baseline: {config} is not a JSON object with a 'model' key: {exc}") from exc
        if declared in MODELS:
            return MODELS[declared]
    raise Unsupported(f"baseline has no model {name!r}; it serves {sorted(MODELS)}")


def settings_for(spec: ModelSpec, freq: str | None, options: dict[str, Any], warn: list[str]) -> Settings:
    opts = parse_options(options, BaselineOptions)
    season = opts.season_length
    if season is None:
        season = season_length_for(freq)
        if season is None:
            season = 1
            if spec.seasonal:
                why = f"frequency {freq!r} is not one it knows" if freq else "the request has no frequency"
                warn.append(f"{spec.name}: season length 1 (no seasonality) because {why}; set option season_length")
    context = opts.context_length if opts.context_length is not None else spec.default_context
    return Settings(season_length=season if spec.seasonal else 1, context_length=context)


def quantile_keys(quantiles: Sequence[float]) -> tuple[list[float], list[str]]:
    """The interval levels to ask statsforecast for, and the result key for each quantile."""
    levels: list[float] = []
    keys: list[str] = []
    for q in quantiles:
        if not 0.0 < q < 1.0:
            raise BadInput(f"quantile levels must lie strictly between 0 and 1, got {q}")
        if abs(q - 0.5) < 1e-9:
            keys.append("mean")
            continue
        level = round(abs(1.0 - 2.0 * q) * 100.0, 8)
        if level not in levels:
            levels.append(level)
        keys.append(f"{'lo' if q < 0.5 else 'hi'}-{level}")
    return levels, keys


def clean_target(y: np.ndarray, where: str, warn: list[str]) -> np.ndarray:
    """Drop leading NaNs, interpolate inner gaps linearly, carry the last value over trailing ones."""
    y = np.asarray(y, dtype=np.float64)
    observed = np.isfinite(y)
    if observed.all():
        return y
    if not observed.any():
        raise BadInput(f"{where} has no observed values in its context")
    first = int(np.argmax(observed))
    y, observed = y[first:], observed[first:]
    missing = int((~observed).sum())
    if missing:
        index = np.arange(len(y))
        y = np.interp(index, index[observed], y[observed])
        warn.append(
            f"{where}: {missing} missing value(s) filled by linear interpolation (trailing ones carry the last value)"
        )
    return y


def check_covariates(spec: ModelSpec, series: SeriesInput) -> None:
    """The baselines read no covariates, and their entries declare none: the gateway drops or refuses
    them, so any that reach the worker are refused."""
    for kind, names in (("past", series.past_covariates), ("future", series.future_covariates), ("static", series.static_covariates)):
        refuse_unusable(FAMILY, f"{spec.name} (series {series.id!r})", f"{kind} covariates", list(names))


class BaselineAdapter:
    family = FAMILY

    def describe(self) -> dict[str, str]:
        return {pkg: version(pkg) for pkg in ("statsforecast", "coreforecast", "numpy", "scipy", "statsmodels")}

    def load(self, name: str, path: str, device: str, options: Options) -> Loaded:
        if device != "cpu":
            raise Unsupported(f"baseline runs on the CPU only, not {device!r}")
        spec = resolve_model(name, path)
        handle = Handle(spec=spec, defaults=dict(options))
        # Warm the model's code path once (lazy imports, first-call set-up) so the first request does not pay it.
        t = np.arange(24, dtype=np.float64)
        self._fit(spec, 1, 10 + np.sin(t) + 0.01 * t, 2, [80.0], "warm-up")
        return Loaded(handle=handle, device="cpu", memory_bytes=0)

    def unload(self, loaded: Loaded) -> None:
        return None

    def forecast(self, loaded: Loaded, batch: ForecastInput) -> ForecastOutput:
        handle: Handle = loaded.handle
        spec = handle.spec
        if not 1 <= batch.horizon <= MAX_HORIZON:
            raise BadInput(f"{spec.name} serves horizons 1..{MAX_HORIZON}, got {batch.horizon}")
        warn: list[str] = []  # about the whole batch (its options): every fused request shares them
        cfg = settings_for(spec, batch.freq, {**handle.defaults, **batch.options}, warn)
        levels, keys = quantile_keys(batch.quantiles)
        outputs = []
        for series in batch.series:
            own: list[str] = []  # about this series only
            # a series of its own frequency (a batch may mix them) gets its own season length
            mine = cfg if series.freq in (None, batch.freq) else settings_for(spec, series.freq, {**handle.defaults, **batch.options}, own)
            out = self._forecast_series(spec, mine, series, batch.horizon, levels, keys, own)
            own = list(dict.fromkeys(own))
            if PER_SERIES_WARNINGS:
                out = SeriesOutput(id=out.id, mean=out.mean, quantiles=out.quantiles, warnings=own)  # type: ignore[call-arg]
            else:
                warn.extend(own)
            outputs.append(out)
        return ForecastOutput(series=outputs, warnings=list(dict.fromkeys(warn)))

    def _forecast_series(
        self,
        spec: ModelSpec,
        cfg: Settings,
        series: SeriesInput,
        horizon: int,
        levels: list[float],
        keys: list[str],
        warn: list[str],
    ) -> SeriesOutput:
        check_covariates(spec, series)
        means, quants = [], []
        for row in range(series.n_targets):
            where = f"series {series.id!r}" + (f" variate {row}" if series.n_targets > 1 else "")
            y = series.target[row]
            if cfg.context_length is not None:
                y = y[-cfg.context_length :]
            y = clean_target(y, where, warn)
            need = spec.min_length(cfg.season_length)
            if len(y) < need:
                raise BadInput(
                    f"{spec.name} needs at least {need} observed points (season length {cfg.season_length}); "
                    f"{where} has {len(y)}"
                )
            res = self._fit(spec, cfg.season_length, y, horizon, levels, where, warn)
            means.append(res["mean"])
            quants.append([res[k] for k in keys])
        mean = np.asarray(means, dtype=np.float32)
        # (n_targets, n_levels, H) -> (n_levels, n_targets, H); sorted so levels never cross
        # (simulated intervals need not be centred on the point forecast).
        shape = (series.n_targets, len(keys), horizon)
        q = np.sort(np.asarray(quants, dtype=np.float32).reshape(shape).transpose(1, 0, 2), axis=0)
        if not (np.isfinite(mean).all() and np.isfinite(q).all()):
            raise BadInput(f"{spec.name} produced a non-finite forecast for series {series.id!r}")
        return SeriesOutput(id=series.id, mean=mean, quantiles=q)

    @staticmethod
    def _fit(
        spec: ModelSpec,
        season: int,
        y: np.ndarray,
        horizon: int,
        levels: list[float],
        where: str,
        warn: list[str] | None = None,
    ) -> dict[str, np.ndarray]:
        model = spec.build(season)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                res: dict[str, np.ndarray] = model.forecast(y=y, h=horizon, level=levels or None)
            except _FIT_ERRORS as exc:
                raise BadInput(f"{spec.name} could not fit {where}: {type(exc).__name__}: {exc}") from exc
        if warn is not None:
            # statsforecast's UserWarnings say something about the fit; its RuntimeWarnings are numerical noise.
            warn.extend(f"{spec.name} ({where}): {w.message}" for w in caught if issubclass(w.category, UserWarning))
        return res


def create_adapter() -> BaselineAdapter:
    """The worker's adapter; statsforecast's interval quantiles memoised first (:mod:`tollama_baseline.quantile_memo`)."""
    quantile_memo.install()
    return BaselineAdapter()
