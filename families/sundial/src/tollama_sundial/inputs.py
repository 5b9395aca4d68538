"""Request preparation for Sundial: options, missing values, context windows, covariates.

Pure numpy (no torch), so it is cheap to import and to test. Sundial is a univariate model
with no covariate input and no missing-value mask, so this module turns every
:class:`~tollama_kit.adapter.SeriesInput` into plain NaN-free 1-D float32 rows ("units"), one
per target variate, and says what it had to change in warnings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tollama_kit.adapter import ForecastInput, Options, SeriesInput
from tollama_kit.errors import BadInput
from tollama_kit.notes import refuse_unusable
from tollama_kit.options import parse_options

from tollama_sundial.options import SundialOptions

FAMILY = "sundial"



@dataclass(frozen=True)
class Settings:
    """The options of one forecast call, validated."""

    num_samples: int
    seed: int | None
    """``None`` (option ``seed`` < 0): unseeded, and rows of equal length share one forward pass."""
    context_length: int
    batch_size: int


@dataclass(frozen=True)
class Unit:
    """One univariate row the model forecasts: ``series`` index, ``variate`` index, values."""

    series: int
    variate: int
    values: np.ndarray


def read_settings(options: Options, max_context: int, warnings: list[str]) -> Settings:
    """The options this family reads (unknown options are ignored), resolved against the model."""
    opts = parse_options(options, SundialOptions)
    context_length = opts.context_length or max_context
    if context_length > max_context:
        warnings.append(
            f"{FAMILY}: context_length {context_length} exceeds the model's maximum context {max_context}; "
            f"the last {max_context} points were used"
        )
        context_length = max_context
    seed = None if opts.seed < 0 else opts.seed
    return Settings(opts.num_samples, seed, context_length, opts.batch_size)


def check_covariates(series: list[SeriesInput]) -> None:
    """Sundial reads no covariates, and its models declare none: the gateway drops or refuses them,
    so any that reach the worker are refused, all of them named in one error."""
    given = [
        f"{kind} {name!r} (series {s.id!r})"
        for s in series
        for kind, names in (("past", s.past_covariates), ("future", s.future_covariates), ("static", s.static_covariates))
        for name in names
    ]
    refuse_unusable(FAMILY, "Sundial", "covariates", given)


def fill_missing(values: np.ndarray, what: str, warnings: list[str]) -> np.ndarray:
    """Drop leading NaNs, interpolate interior ones linearly, carry the last value over trailing ones."""
    observed = np.flatnonzero(~np.isnan(values))
    if observed.size == 0:
        raise BadInput(f"{what} has no observed values (all NaN)")
    if observed.size == values.size:
        return values
    first = int(observed[0])
    trimmed = values[first:]
    idx = np.arange(trimmed.size)
    mask = np.isnan(trimmed)
    filled = trimmed.copy()
    # np.interp holds the last observed value beyond the end: the trailing gap is carried forward.
    filled[mask] = np.interp(idx[mask], idx[~mask], trimmed[~mask]).astype(np.float32)
    parts = []
    if first:
        parts.append(f"{first} leading missing value(s) dropped")
    if mask.any():
        parts.append(f"{int(mask.sum())} missing value(s) filled by linear interpolation")
    warnings.append(f"{FAMILY}: {what}: {', '.join(parts)} (the model takes no missing-value mask)")
    return filled


def to_units(batch: ForecastInput, settings: Settings, warnings: list[str]) -> list[Unit]:
    """One NaN-free row per (series, variate), cut to the last ``context_length`` points."""
    units = []
    for i, s in enumerate(batch.series):
        target = np.asarray(s.target, dtype=np.float32)
        if target.ndim != 2 or target.shape[1] == 0:
            raise BadInput(f"series {s.id!r}: target must have shape (n_targets, length >= 1), got {target.shape}")
        if not np.isfinite(target[~np.isnan(target)]).all():
            raise BadInput(f"series {s.id!r}: target holds infinite values")
        for v in range(target.shape[0]):
            what = f"series {s.id!r}" + (f" variate {v}" if target.shape[0] > 1 else "")
            row = fill_missing(target[v], what, warnings)
            units.append(Unit(i, v, np.ascontiguousarray(row[-settings.context_length :])))
    return units
