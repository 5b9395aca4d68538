"""Request options and per-series input preparation for the Toto adapter (numpy only, no torch).

Toto reads one multivariate panel per series: ``(variates, time)``. The adapter stacks, in this
order, the target variates, the numeric past covariates (forecast along by the model, then
discarded) and the numeric future covariates (Toto's "exogenous variables", which must come last;
their known horizon values replace the model's own predictions during decoding).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from tollama_kit.adapter import Options, SeriesInput
from tollama_kit.errors import BadInput, Unsupported

FAMILY = "toto"
MAX_CONTEXT = 4096
"""Toto-Open-Base-1.0 was trained on contexts of up to 4096 steps; longer histories are cut."""
MAX_HORIZON = 1024
"""Decoding is autoregressive (one patch per step), so any horizon works; we cap the cost."""
DEFAULT_NUM_SAMPLES = 256
DEFAULT_SEED = 0


def _int_option(options: Options, name: str, default: int | None, minimum: int) -> int | None:
    value = options.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise BadInput(f"option {name!r} must be an integer, got {value!r}")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise BadInput(f"option {name!r} must be an integer, got {value!r}") from None
    if number < minimum:
        raise BadInput(f"option {name!r} must be >= {minimum}, got {number}")
    return number


@dataclass(frozen=True)
class TotoOptions:
    num_samples: int
    """Sample paths per series; 0 asks for Toto's mean decoding (no samples, no spread)."""
    samples_per_batch: int | None
    """Sample paths decoded together; None lets the adapter pick from its memory budget."""
    seed: int
    context_length: int
    strict_covariates: bool

    @classmethod
    def parse(cls, options: Options) -> TotoOptions:
        mode = str(options.get("covariates_mode", "best_effort"))
        if mode not in ("strict", "best_effort"):
            raise BadInput(f"option 'covariates_mode' must be 'strict' or 'best_effort', got {mode!r}")
        num_samples = _int_option(options, "num_samples", DEFAULT_NUM_SAMPLES, 0)
        spb = _int_option(options, "samples_per_batch", None, 1)
        assert num_samples is not None
        if spb is not None and num_samples and num_samples % spb:
            raise BadInput(f"option 'samples_per_batch' ({spb}) must divide 'num_samples' ({num_samples})")
        return cls(
            num_samples=num_samples,
            samples_per_batch=spb,
            seed=_int_option(options, "seed", DEFAULT_SEED, 0) or 0,
            context_length=_int_option(options, "context_length", MAX_CONTEXT, 1) or MAX_CONTEXT,
            strict_covariates=mode == "strict",
        )


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


class Notes:
    """Warnings collected over one forecast call, each reported once."""

    def __init__(self) -> None:
        self._seen: dict[str, None] = {}

    def add(self, text: str) -> None:
        self._seen.setdefault(text, None)

    def extend(self, texts: Iterable[str]) -> None:
        for text in texts:
            self.add(text)

    @property
    def items(self) -> list[str]:
        return list(self._seen)


def _drop(kind: str, names: list[str], opts: TotoOptions, notes: Notes) -> None:
    if not names:
        return
    message = f"{FAMILY}: {kind} {sorted(names)} cannot be used by Toto"
    if opts.strict_covariates:
        raise Unsupported(message + " (covariates_mode=strict)")
    notes.add(message + "; they were ignored")


def prepare(series: SeriesInput, horizon: int, opts: TotoOptions, notes: Notes) -> Prepared:
    """Cut the context, stack targets and usable covariates, fill NaN; drop or refuse the rest."""
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
    _drop("categorical covariates", categorical, opts, notes)
    _drop("static covariates", list(series.static_covariates), opts, notes)

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
