"""Quantile helpers every family shares: grids, interpolation and sample quantiles."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def interpolate(levels: Sequence[float], values: np.ndarray, wanted: Sequence[float]) -> np.ndarray:
    """Map quantile forecasts on a native grid to the requested levels.

    ``values`` has the native levels on axis 0; the result has ``wanted`` on axis 0.
    Levels inside the grid are interpolated linearly; outside it they are clamped to
    the nearest native level (the caller warns about both).
    """
    native = np.asarray(levels, dtype=np.float64)
    values = np.asarray(values)
    flat = values.reshape(values.shape[0], -1)
    order = np.argsort(np.asarray(wanted, dtype=np.float64), kind="stable")
    ascending = np.asarray(wanted, dtype=np.float64)[order]
    out = np.empty((len(wanted), flat.shape[1]), dtype=values.dtype)
    for j in range(flat.shape[1]):
        out[:, j] = np.interp(ascending, native, flat[:, j])
    # Monotone in the level (crossing native quantiles are sorted), then back in the requested order.
    out = np.sort(out, axis=0)
    result = np.empty_like(out)
    result[order] = out
    return result.reshape((len(wanted), *values.shape[1:]))


def off_grid(levels: Sequence[float], wanted: Sequence[float]) -> list[float]:
    """The requested levels that the native grid does not contain (within 1e-9)."""
    return [q for q in wanted if not any(abs(q - n) < 1e-9 for n in levels)]


def interpolation_warning(family: str, levels: Sequence[float], wanted: Sequence[float]) -> str | None:
    missing = off_grid(levels, wanted)
    if not missing:
        return None
    lo, hi = min(levels), max(levels)
    clamped = [q for q in missing if q < lo or q > hi]
    text = (
        f"{family}: quantile levels {missing} are not on the model's native grid "
        f"{[round(x, 4) for x in levels]}; they were interpolated"
    )
    if clamped:
        text += f" (levels {clamped} lie outside [{lo}, {hi}] and were clamped to its ends)"
    return text


def from_samples(samples: np.ndarray, wanted: Sequence[float], axis: int = 0) -> np.ndarray:
    """Empirical quantiles of ``samples`` along ``axis``; levels end up on axis 0."""
    return np.quantile(np.asarray(samples, dtype=np.float64), list(wanted), axis=axis).astype(np.float32)
