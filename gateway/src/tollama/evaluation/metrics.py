"""Forecast accuracy metrics with fev 0.10.0's definitions, in numpy (no fev import).

A metric is computed over the arrays of one window at once, as fev's ``Metric.compute`` does:
``y_true``/``y_pred`` ``[N, H, D]``, quantiles ``[N, H, D, Q]`` and each item's past ``[T_i, D]``.
Each metric is aggregated per target dimension over all items and steps, then averaged over
dimensions. Missing actuals (NaN) are ignored; scaled metrics (MASE, RMSSE, SQL, MSIS) drop the
entries of items whose in-sample seasonal error is undefined (history no longer than the season,
all-NaN, or zero), as fev does by averaging only finite values. Several windows: the mean of the
per-window values (:func:`mean_over_windows`).

``coverage`` and ``MSIS`` are not in fev: coverage is the share of observed values inside each
symmetric pair of quantiles (reported as ``coverage[0.8]`` for the pair 0.1/0.9), MSIS is the M4
mean scaled interval score of the outermost symmetric pair (``alpha`` = twice its lower level).
Tests prove every fev metric equal to fev's own code (tests/evaluation).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Array = Any  # numpy arrays (numpy is untyped for mypy here)

#: Metrics whose lower value is better, by their canonical (fev) spelling.
ERROR_METRICS = ("MASE", "RMSSE", "WQL", "SQL", "MQL", "MAE", "RMSE", "MSE", "WAPE", "MAPE", "SMAPE", "MSIS")
NAMES = {name.upper(): name for name in (*ERROR_METRICS, "coverage")}
QUANTILE_METRICS = frozenset({"WQL", "SQL", "MQL", "MSIS", "coverage"})


class MetricError(ValueError):
    """A metric name is unknown, or it needs quantile levels the forecast lacks."""


@dataclass(frozen=True)
class WindowArrays:
    """The arrays of one window, shaped as fev's ``compute`` takes them."""

    y_true: Array
    """[N, H, D] observed values, NaN where unknown."""
    y_pred: Array
    """[N, H, D] point forecast (the forecast's ``mean``)."""
    q_pred: Array
    """[N, H, D, Q] quantile forecasts, Q = len(levels)."""
    past: Sequence[Array]
    """N arrays [T_i, D]: each item's history before the window."""
    seasonality: Sequence[int]
    """One seasonal period per item (fev uses one per task; items of mixed frequencies keep their own)."""
    levels: tuple[float, ...]


def canonical(name: str) -> str:
    """The metric's spelling (names are case-insensitive); :class:`MetricError` when unknown."""
    found = NAMES.get(name.upper())
    if found is None:
        raise MetricError(f"unknown metric {name!r}; known: {sorted(NAMES.values())}")
    return found


def _mean_finite(arr: Array, axis: Any = None) -> Array:
    """fev's ``_safemean``: the mean of the finite values (NaN where there are none)."""
    return np.nanmean(np.where(np.isfinite(arr), arr, np.nan), axis=axis)


def _seasonal_error(w: WindowArrays, square: bool) -> Array:
    """[N, D] mean absolute (or squared) seasonal difference of each item's history; NaN if undefined."""
    dims = w.y_true.shape[2]
    out = np.full((len(w.past), dims), np.nan)
    for i, (past, m) in enumerate(zip(w.past, w.seasonality, strict=True)):
        if len(past) > m:
            diffs = past[m:] - past[:-m]
            out[i] = np.nanmean(diffs**2 if square else np.abs(diffs), axis=0)
    return out


def _quantile_loss(w: WindowArrays) -> Array:
    y = w.y_true[..., None]
    levels = np.asarray(w.levels, dtype=np.float64)
    return 2 * np.abs((y - w.q_pred) * ((y <= w.q_pred) - levels))  # [N, H, D, Q]


def _per_dim(values: Array) -> float:
    return float(np.mean(values))


def _mae(w: WindowArrays) -> float:
    return _per_dim(np.nanmean(np.abs(w.y_true - w.y_pred), axis=(0, 1)))


def _mse(w: WindowArrays) -> float:
    return _per_dim(np.nanmean((w.y_true - w.y_pred) ** 2, axis=(0, 1)))


def _rmse(w: WindowArrays) -> float:
    return _per_dim(np.sqrt(np.nanmean((w.y_true - w.y_pred) ** 2, axis=(0, 1))))


def _wape(w: WindowArrays) -> float:
    err = np.nanmean(np.abs(w.y_true - w.y_pred), axis=(0, 1))
    return _per_dim(err / np.maximum(np.nanmean(np.abs(w.y_true), axis=(0, 1)), 0.0))


def _mase(w: WindowArrays) -> float:
    scale = np.clip(_seasonal_error(w, square=False), 0.0, None)
    return _per_dim(_mean_finite(np.abs(w.y_true - w.y_pred) / scale[:, None, :], axis=(0, 1)))


def _rmsse(w: WindowArrays) -> float:
    scale = np.clip(_seasonal_error(w, square=True), 0.0, None)
    return _per_dim(np.sqrt(_mean_finite((w.y_true - w.y_pred) ** 2 / scale[:, None, :], axis=(0, 1))))


def _mape(w: WindowArrays) -> float:
    return _per_dim(_mean_finite(np.abs(w.y_true - w.y_pred) / np.abs(w.y_true), axis=(0, 1)))


def _smape(w: WindowArrays) -> float:
    val = 2 * np.abs(w.y_true - w.y_pred) / (np.abs(w.y_true) + np.abs(w.y_pred))
    return _per_dim(_mean_finite(val, axis=(0, 1)))


def _mql(w: WindowArrays) -> float:
    return _per_dim(np.mean(np.nanmean(_quantile_loss(w), axis=(0, 1)), axis=0))


def _wql(w: WindowArrays) -> float:
    loss = np.nanmean(_quantile_loss(w), axis=(0, 1))  # [D, Q]
    scale = np.maximum(np.nanmean(np.abs(w.y_true), axis=(0, 1)), 0.0)[:, None]
    return _per_dim(np.mean(loss / scale, axis=0))


def _sql(w: WindowArrays) -> float:
    scale = np.clip(_seasonal_error(w, square=False), 0.0, None)
    scaled = _quantile_loss(w) / scale[:, None, :, None]
    return _per_dim(np.mean(_mean_finite(scaled, axis=(0, 1)), axis=0))


def symmetric_pairs(levels: Sequence[float]) -> list[tuple[int, int, float]]:
    """(lower index, upper index, nominal coverage) of each pair q, 1 − q among ``levels``, widest first."""
    pairs = []
    for i, q in enumerate(levels):
        if q < 0.5:
            for j, p in enumerate(levels):
                if abs(p - (1 - q)) < 1e-9:
                    pairs.append((i, j, round(1 - 2 * q, 6)))
    return pairs


def _coverage(w: WindowArrays) -> dict[str, float]:
    out = {}
    observed = ~np.isnan(w.y_true)
    for lo, hi, nominal in symmetric_pairs(w.levels):
        inside = (w.y_true >= w.q_pred[..., lo]) & (w.y_true <= w.q_pred[..., hi])
        share = np.where(observed, inside, np.nan)
        out[f"coverage[{nominal:g}]"] = _per_dim(np.nanmean(share, axis=(0, 1)))
    return out


def _msis(w: WindowArrays) -> float:
    lo_i, hi_i, nominal = symmetric_pairs(w.levels)[0]
    alpha = 1 - nominal
    lo, hi, y = w.q_pred[..., lo_i], w.q_pred[..., hi_i], w.y_true
    score = (hi - lo) + (2 / alpha) * (lo - y) * (y < lo) + (2 / alpha) * (y - hi) * (y > hi)
    scale = np.clip(_seasonal_error(w, square=False), 0.0, None)
    return _per_dim(_mean_finite(score / scale[:, None, :], axis=(0, 1)))


_SCALAR: dict[str, Callable[[WindowArrays], float]] = {
    "MAE": _mae, "MSE": _mse, "RMSE": _rmse, "WAPE": _wape, "MASE": _mase, "RMSSE": _rmsse,
    "MAPE": _mape, "SMAPE": _smape, "MQL": _mql, "WQL": _wql, "SQL": _sql, "MSIS": _msis,
}


def check(names: Iterable[str], levels: Sequence[float], path: str = "$.metrics") -> list[str]:
    """Canonical names, refusing unknown ones and quantile metrics the levels cannot serve."""
    out = []
    for i, raw in enumerate(names):
        name = canonical(raw)
        if name in ("MSIS", "coverage") and not symmetric_pairs(levels):
            raise MetricError(f"{path}[{i}]: {name} needs a symmetric pair of quantile levels (such as 0.1 and 0.9); got {list(levels)}")
        if name not in out:
            out.append(name)
    return out


def compute(names: Sequence[str], w: WindowArrays) -> dict[str, float | None]:
    """Each metric over one window; ``None`` where undefined (names checked by :func:`check`)."""
    scores: dict[str, float] = {}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        for name in map(canonical, names):
            if name == "coverage":
                scores.update(_coverage(w))
            else:
                scores[name] = _SCALAR[name](w)
    return {k: (v if np.isfinite(v) else None) for k, v in scores.items()}


def mean_over_windows(per_window: Sequence[dict[str, float | None]]) -> dict[str, float | None]:
    """fev's aggregation over windows: the mean of each metric (``None`` if any window lacks it)."""
    keys = list(dict.fromkeys(k for scores in per_window for k in scores))
    out: dict[str, float | None] = {}
    for k in keys:
        values = [scores.get(k) for scores in per_window]
        out[k] = None if any(v is None for v in values) else float(np.mean([v for v in values if v is not None]))
    return out
