"""Request options and per-series input preparation for the TiRex-2 adapter (numpy only, no torch).

=====================  =====  ===========  ==================================================
name                   type   default      meaning
=====================  =====  ===========  ==================================================
context_length         int    model max    use at most the last N points of each series
covariates_mode        str    best_effort  ``strict``: a covariate the model cannot use is an
                                           error; ``best_effort``: it is dropped with a warning
tta_sign_flip          bool   checkpoint   sign-flip test-time augmentation (about twice the cost)
tta_diff               bool   checkpoint   differencing of trending targets in the postprocessor
batch_size             int    512          series per forward pass (TiRex-2 halves it on OOM)
=====================  =====  ===========  ==================================================

TiRex-2 reads one ``TimeseriesType`` per series: the target variates ``(V_t, T)``, the numeric
past-only covariates ``(V_p, T)`` and the numeric known-future covariates ``(V_f, T + H)``. NaN is
the model's own missing-value marker, so gaps are passed through as they are. Categorical and
static covariates have no place in that input: they are dropped with a warning, or refused in
strict mode.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from tollama_kit.adapter import Options, SeriesInput
from tollama_kit.errors import BadInput, Unsupported

FAMILY = "tirex"
COVARIATE_MODES = ("best_effort", "strict")
DEFAULT_BATCH_SIZE = 512


def _int(options: Options, name: str, default: int | None, minimum: int) -> int | None:
    value = options.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or float(value) != int(value):
        raise BadInput(f"option {name!r} must be an integer, got {value!r}")
    if int(value) < minimum:
        raise BadInput(f"option {name!r} must be >= {minimum}, got {int(value)}")
    return int(value)


def _bool(options: Options, name: str) -> bool | None:
    value = options.get(name)
    if value is None or isinstance(value, bool):
        return value
    raise BadInput(f"option {name!r} must be true or false, got {value!r}")


@dataclass(frozen=True)
class TirexOptions:
    context_length: int | None
    strict_covariates: bool
    tta_sign_flip: bool | None
    """None keeps the checkpoint's own setting (``config.json``)."""
    tta_diff: bool | None
    batch_size: int

    @classmethod
    def parse(cls, options: Options) -> TirexOptions:
        mode = str(options.get("covariates_mode", "best_effort"))
        if mode not in COVARIATE_MODES:
            raise BadInput(f"option 'covariates_mode' must be 'strict' or 'best_effort', got {mode!r}")
        return cls(
            context_length=_int(options, "context_length", None, 1),
            strict_covariates=mode == "strict",
            tta_sign_flip=_bool(options, "tta_sign_flip"),
            tta_diff=_bool(options, "tta_diff"),
            batch_size=_int(options, "batch_size", DEFAULT_BATCH_SIZE, 1) or DEFAULT_BATCH_SIZE,
        )

    def predict_kwargs(self) -> dict[str, bool]:
        """The ``TiRex2.predict`` keywords the request set (unset ones keep the checkpoint's)."""
        out = {}
        if self.tta_sign_flip is not None:
            out["tta_sign_flip"] = self.tta_sign_flip
        if self.tta_diff is not None:
            out["tta_diff"] = self.tta_diff
        return out


@dataclass(frozen=True)
class Prepared:
    """One series as TiRex-2 takes it (float32; NaN marks a missing value)."""

    target: np.ndarray
    past: np.ndarray | None
    """``(V_p, T)``, the numeric past-only covariates in name order, or None."""
    future: np.ndarray | None
    """``(V_f, T + horizon)``, the numeric known-future covariates in name order, or None."""


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


def _drop(kind: str, names: list[str], opts: TirexOptions, notes: Notes) -> None:
    if not names:
        return
    message = f"{FAMILY}: {kind} {sorted(names)} cannot be used by TiRex-2"
    if opts.strict_covariates:
        raise Unsupported(message + " (covariates_mode=strict)")
    notes.add(message + "; they were ignored")


def prepare(series: SeriesInput, horizon: int, opts: TirexOptions, notes: Notes) -> Prepared:
    """Cut the context, split numeric covariates into past-only and known-future; drop the rest."""
    length = series.length
    start = length - min(length, opts.context_length or length)
    numeric = lambda d: {k: v for k, v in d.items() if v.dtype != object}  # noqa: E731
    past, future = numeric(series.past_covariates), numeric(series.future_covariates)
    categorical = [
        k for k, v in (*series.past_covariates.items(), *series.future_covariates.items()) if v.dtype == object
    ]
    _drop("categorical covariates", categorical, opts, notes)
    _drop("static covariates", list(series.static_covariates), opts, notes)

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
