"""Per-series input preparation for the Toto adapter (numpy only, no torch).

Toto reads one multivariate panel per series: ``(variates, time)``. The adapter stacks, in this
order, the target variates, the numeric past covariates (forecast along by the model, then
discarded) and the numeric future covariates (Toto's "exogenous variables", which must come last;
their known horizon values replace the model's own predictions during decoding).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tollama_kit.adapter import SeriesInput
from tollama_kit.errors import BadInput
from tollama_kit.notes import Notes, refuse_unusable

from tollama_toto.options import MAX_CONTEXT, TotoOptions

FAMILY = "toto"
MAX_HORIZON = 1024
"""Decoding is autoregressive (one patch per step), so any horizon works; we cap the cost."""


@dataclass(frozen=True)
class Prepared:
    """One series as Toto sees it: ``values`` (variates, T) with NaN filled, ``observed`` where real."""

    values: np.ndarray
    observed: np.ndarray
    future: np.ndarray | None
    """Known horizon values of the exogenous variates, ``(n_exogenous, horizon)``."""
    n_targets: int
    n_exogenous: int

    @property
    def shape_key(self) -> tuple[int, int, int]:
        return (self.values.shape[0], self.n_exogenous, self.values.shape[1])


def fill_missing(rows: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation inside each row, nearest value at the edges; returns (filled, observed)."""
    observed = np.isfinite(rows)
    filled = rows.astype(np.float32, copy=True)
    index = np.arange(rows.shape[1])
    for r in range(rows.shape[0]):
        ok = observed[r]
        if ok.all():
            continue
        if not ok.any():
            raise BadInput(f"{what}: row {r} has no observed value in the context")
        filled[r] = np.interp(index, index[ok], rows[r, ok])
    return filled, observed


def prepare(series: SeriesInput, horizon: int, opts: TotoOptions, notes: Notes) -> Prepared:
    """Cut the context, stack targets and usable covariates, fill NaN; refuse the rest."""
    length = series.length
    context = min(length, opts.context_length, MAX_CONTEXT)
    if opts.context_length > MAX_CONTEXT and length > MAX_CONTEXT:
        notes.add(
            f"{FAMILY}: context_length {opts.context_length} exceeds the model's {MAX_CONTEXT}; used {MAX_CONTEXT}"
        )
    start = length - context

    past = {k: v for k, v in series.past_covariates.items() if v.dtype != object}
    future = {k: v for k, v in series.future_covariates.items() if v.dtype != object}
    categorical = [
        k for k, v in (*series.past_covariates.items(), *series.future_covariates.items()) if v.dtype == object
    ]
    refuse_unusable(FAMILY, "Toto", "categorical covariates", categorical)
    refuse_unusable(FAMILY, "Toto", "static covariates", list(series.static_covariates))

    rows = [series.target[:, start:]]
    rows += [v[None, start:length] for _, v in sorted(past.items())]
    future_names = sorted(future)
    rows += [future[k][None, start:length] for k in future_names]
    stacked = np.concatenate(rows, axis=0).astype(np.float32)
    values, observed = fill_missing(stacked, f"series {series.id!r}")

    known = None
    if future_names:
        known = np.stack([future[k][length : length + horizon] for k in future_names]).astype(np.float32)
        if not np.isfinite(known).all():
            raise BadInput(f"series {series.id!r}: future covariates need values for every horizon step")
    return Prepared(
        values=values, observed=observed, future=known, n_targets=series.n_targets, n_exogenous=len(future_names)
    )
