"""Per-series input preparation for the TiRex-2 adapter (numpy only, no torch).

TiRex-2 reads one ``TimeseriesType`` per series: the target variates ``(V_t, T)``, the numeric
past-only covariates ``(V_p, T)`` and the numeric known-future covariates ``(V_f, T + H)``. NaN is
the model's own missing-value marker, so gaps are passed through as they are. Categorical and
static covariates have no place in that input: the gateway drops or refuses them by the model's
capabilities, and any that still arrive are refused (``tollama_kit.notes.refuse_unusable``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tollama_kit.adapter import SeriesInput
from tollama_kit.errors import BadInput
from tollama_kit.notes import refuse_unusable

from tollama_tirex.options import TirexOptions

FAMILY = "tirex"


@dataclass(frozen=True)
class Prepared:
    """One series as TiRex-2 takes it (float32; NaN marks a missing value)."""

    target: np.ndarray
    past: np.ndarray | None
    """``(V_p, T)``, the numeric past-only covariates in name order, or None."""
    future: np.ndarray | None
    """``(V_f, T + horizon)``, the numeric known-future covariates in name order, or None."""


def prepare(series: SeriesInput, horizon: int, opts: TirexOptions) -> Prepared:
    """Cut the context, split numeric covariates into past-only and known-future; refuse the rest."""
    length = series.length
    start = length - min(length, opts.context_length or length)
    numeric = lambda d: {k: v for k, v in d.items() if v.dtype != object}  # noqa: E731
    past, future = numeric(series.past_covariates), numeric(series.future_covariates)
    categorical = [
        k for k, v in (*series.past_covariates.items(), *series.future_covariates.items()) if v.dtype == object
    ]
    refuse_unusable(FAMILY, "TiRex-2", "categorical covariates", categorical)
    refuse_unusable(FAMILY, "TiRex-2", "static covariates", list(series.static_covariates))

    target = np.ascontiguousarray(series.target[:, start:], dtype=np.float32)
    if not np.isfinite(target).any(axis=1).all():
        row = int(np.flatnonzero(~np.isfinite(target).any(axis=1))[0])
        raise BadInput(f"series {series.id!r}: target row {row} has no observed value in the context")
    past_rows = np.stack([past[k][start:length] for k in sorted(past)]).astype(np.float32) if past else None
    future_rows = None
    if future:
        future_rows = np.stack([future[k][start : length + horizon] for k in sorted(future)]).astype(np.float32)
        if not np.isfinite(future_rows[:, -horizon:]).all():
            raise BadInput(f"series {series.id!r}: future covariates need values for every horizon step")
    return Prepared(target=target, past=past_rows, future=future_rows)
