"""Forecast options the chronos family reads, with their defaults (unknown options are ignored).

=====================  =====  ===========  ==================================================
name                   type   default      meaning
=====================  =====  ===========  ==================================================
context_length         int    model max    use at most the last N points of each series
covariates_mode        str    best_effort  ``strict``: a covariate the model cannot use is an
                                           error; ``best_effort``: it is dropped with a warning
num_samples            int    20           Chronos (T5): sample paths per series
temperature            float  model cfg    Chronos (T5): sampling temperature
top_k                  int    model cfg    Chronos (T5): top-k sampling
top_p                  float  model cfg    Chronos (T5): nucleus sampling
seed                   int    0            Chronos (T5): torch seed set before each series;
                                           a negative seed leaves the RNG alone and batches
                                           series together (faster on GPU, not reproducible)
max_sequences          int    256          Chronos (T5): cap on series x samples per generate call
batch_size             int    256          Bolt / Chronos-2: rows (targets + covariates) per forward pass
=====================  =====  ===========  ==================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tollama_kit.errors import BadInput

COVARIATE_MODES = ("best_effort", "strict")


def _int(options: dict[str, Any], name: str, default: int | None, *, low: int | None = None) -> int | None:
    value = options.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise BadInput(f"option {name!r} must be an integer, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise BadInput(f"option {name!r} must be an integer, got {value!r}") from None
    if not number.is_integer():
        raise BadInput(f"option {name!r} must be an integer, got {value!r}")
    result = int(number)
    if low is not None and result < low:
        raise BadInput(f"option {name!r} must be >= {low}, got {result}")
    return result


def _float(options: dict[str, Any], name: str, *, low: float, high: float | None = None) -> float | None:
    value = options.get(name)
    if value is None:
        return None
    if isinstance(value, bool):
        raise BadInput(f"option {name!r} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadInput(f"option {name!r} must be a number, got {value!r}") from None
    if number < low or (high is not None and number > high):
        raise BadInput(f"option {name!r} must lie in [{low}, {high if high is not None else 'inf'}], got {number}")
    return number


@dataclass(frozen=True)
class ForecastOptions:
    context_length: int | None = None
    covariates_mode: str = "best_effort"
    num_samples: int = 20
    temperature: float | None = None
    top_k: int | None = None
    top_p: float | None = None
    seed: int = 0
    max_sequences: int = 256
    batch_size: int = 256

    @property
    def strict(self) -> bool:
        return self.covariates_mode == "strict"

    @classmethod
    def parse(cls, options: dict[str, Any]) -> ForecastOptions:
        mode = str(options.get("covariates_mode", "best_effort"))
        if mode not in COVARIATE_MODES:
            raise BadInput(f"option 'covariates_mode' must be one of {list(COVARIATE_MODES)}, got {mode!r}")
        return cls(
            context_length=_int(options, "context_length", None, low=1),
            covariates_mode=mode,
            num_samples=_int(options, "num_samples", 20, low=1) or 20,
            temperature=_float(options, "temperature", low=1e-6),
            top_k=_int(options, "top_k", None, low=1),
            top_p=_float(options, "top_p", low=1e-6, high=1.0),
            seed=_int(options, "seed", 0) or 0,
            max_sequences=_int(options, "max_sequences", 256, low=1) or 256,
            batch_size=_int(options, "batch_size", 256, low=1) or 256,
        )
