"""Score forecasts against actuals: one series alone, or many together as fev aggregates one window.

An :class:`Item` is one series of one window (its history, actuals, mean and quantiles, one row per
variate). :func:`score` stacks items into fev's ``[N, H, D]`` arrays; items with different numbers
of variates cannot share a ``D``, so then every variate counts as a univariate item.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tollama.evaluation import metrics
from tollama.evaluation.seasonality import seasonality_of
from tollama.timeaxis import Freq


@dataclass(frozen=True)
class Item:
    history: Sequence[Sequence[float | None]]
    """[D][T] the values the forecast was made from (``None`` = missing)."""
    actuals: Sequence[Sequence[float | None]]
    """[D][H] observed values after the history (``None`` = unknown)."""
    mean: Sequence[Sequence[float]]
    """[D][H]"""
    quantiles: Sequence[Sequence[Sequence[float]]]
    """[Q][D][H], in the order of the levels."""
    seasonality: int


def seasonality_for(freq: Freq | None, override: int | None) -> int:
    """``options.seasonality`` when given, else GluonTS's period of the series' frequency."""
    return override if override is not None else seasonality_of(freq)


def _floats(rows: Sequence[Sequence[float | None]]) -> np.ndarray:
    return np.asarray([[np.nan if v is None else v for v in row] for row in rows], dtype=np.float64)


def _univariate(items: Sequence[Item]) -> list[Item]:
    return [
        Item(history=[it.history[d]], actuals=[it.actuals[d]], mean=[it.mean[d]], quantiles=[[q[d]] for q in it.quantiles], seasonality=it.seasonality)
        for it in items for d in range(len(it.actuals))
    ]


def arrays(items: Sequence[Item], levels: tuple[float, ...]) -> metrics.WindowArrays:
    if len({len(it.actuals) for it in items}) > 1:
        items = _univariate(items)
    y_true = np.stack([_floats(it.actuals).T for it in items])  # [N, H, D]
    y_pred = np.stack([np.asarray(it.mean, dtype=np.float64).T for it in items])
    q_pred = np.stack([np.asarray(it.quantiles, dtype=np.float64).transpose(2, 1, 0) for it in items])  # [N, H, D, Q]
    return metrics.WindowArrays(
        y_true=y_true, y_pred=y_pred, q_pred=q_pred, past=[_floats(it.history).T for it in items],
        seasonality=[it.seasonality for it in items], levels=levels,
    )


def score(names: Sequence[str], items: Sequence[Item], levels: tuple[float, ...]) -> dict[str, float | None]:
    """The metrics over ``items`` together (one window); ``None`` where undefined."""
    if not items:
        return {}
    return metrics.compute(names, arrays(items, levels))
