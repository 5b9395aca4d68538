"""Forecast options the granite adapter reads for TinyTimeMixer, and the typed readers FlowState and
PatchTST-FM share (unknown options are ignored)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tollama_kit.adapter import Options
from tollama_kit.errors import BadInput

from tollama_granite.conformal import SCORES
from tollama_granite.windows import IMPUTE_METHODS

DEFAULT_CALIBRATION_WINDOWS = 100
DEFAULT_MIN_CALIBRATION_CONTEXT = 64
DEFAULT_BATCH_SIZE = 256


@dataclass(frozen=True)
class GraniteOptions:
    context_length: int
    """Points of history the model sees (at most the variant's context length)."""
    covariates_mode: str
    impute: str
    calibration_windows: int
    min_calibration_context: int
    conformal_score: str
    seed: int
    batch_size: int


def int_option(options: Options, key: str, default: int, minimum: int) -> int:
    value = options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise BadInput(f"option {key!r} must be an integer; got {value!r}")
    if value < minimum:
        raise BadInput(f"option {key!r} must be >= {minimum}; got {value!r}")
    return int(value)


def positive_float_option(options: Options, key: str, default: float) -> float:
    value = options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value) or value <= 0:
        raise BadInput(f"option {key!r} must be a positive number; got {value!r}")
    return float(value)


def _choice(options: Options, key: str, default: str, allowed: tuple[str, ...]) -> str:
    value = options.get(key, default)
    if value not in allowed:
        raise BadInput(f"option {key!r} must be one of {list(allowed)}; got {value!r}")
    return str(value)


def parse_options(options: Options, model_context: int) -> GraniteOptions:
    context = min(int_option(options, "context_length", model_context, 1), model_context)
    return GraniteOptions(
        context_length=context,
        covariates_mode=_choice(options, "covariates_mode", "best_effort", ("best_effort", "strict")),
        impute=_choice(options, "impute", "linear", IMPUTE_METHODS),
        calibration_windows=int_option(options, "calibration_windows", DEFAULT_CALIBRATION_WINDOWS, 0),
        min_calibration_context=min(
            int_option(options, "min_calibration_context", DEFAULT_MIN_CALIBRATION_CONTEXT, 1), context
        ),
        conformal_score=_choice(options, "conformal_score", "absolute_error", SCORES),
        seed=int_option(options, "seed", 0, 0),
        batch_size=int_option(options, "batch_size", DEFAULT_BATCH_SIZE, 1),
    )
