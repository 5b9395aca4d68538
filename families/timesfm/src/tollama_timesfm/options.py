"""The forecast options the TimesFM adapter reads (documented in docs/families/timesfm.md).

Unknown options are ignored (the gateway validates the public ones); known options with
a wrong type or value are a :class:`~tollama_kit.errors.BadInput` naming the option.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from tollama_kit.adapter import Options
from tollama_kit.errors import BadInput

#: TimesFM 2.5 limits (timesfm 3.0.2): context + horizon, each rounded up to its patch size,
#: must fit the model's 16384-step window; the continuous quantile head covers 1024 steps.
CONTEXT_LIMIT = 16384
INPUT_PATCH = 32
OUTPUT_PATCH = 128
MAX_HORIZON = 1024
MAX_CONTEXT = CONTEXT_LIMIT - MAX_HORIZON

XREG_MODES = ("xreg + timesfm", "timesfm + xreg")
COVARIATES_MODES = ("best_effort", "strict")


def round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


@dataclass(frozen=True)
class Settings:
    context_length: int = 1024
    """Use at most the last this many points of each series."""
    batch_size: int = 32
    """Series per forward pass (``per_core_batch_size``); the last pass is padded up to it."""
    normalize_inputs: bool = True
    use_continuous_quantile_head: bool = True
    force_flip_invariance: bool = True
    infer_is_positive: bool = True
    fix_quantile_crossing: bool = True
    covariates_mode: str = "best_effort"
    xreg_mode: str = "xreg + timesfm"
    ridge: float = 0.0
    normalize_xreg_target_per_input: bool = True

    @classmethod
    def from_options(cls, options: Options) -> Settings:
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in options:
                continue
            raw = options[f.name]
            default = f.default
            if isinstance(default, bool):
                values[f.name] = _as_bool(f.name, raw)
            elif isinstance(default, int):
                values[f.name] = _as_int(f.name, raw)
            elif isinstance(default, float):
                values[f.name] = _as_float(f.name, raw)
            else:
                values[f.name] = str(raw)
        settings = cls(**values)
        settings._check()
        return settings

    def _check(self) -> None:
        if self.context_length < 1:
            raise BadInput(f"option context_length must be >= 1, got {self.context_length}")
        if not 1 <= self.batch_size <= 4096:
            raise BadInput(f"option batch_size must be between 1 and 4096, got {self.batch_size}")
        if self.covariates_mode not in COVARIATES_MODES:
            raise BadInput(
                f"option covariates_mode must be one of {list(COVARIATES_MODES)}, got {self.covariates_mode!r}"
            )
        if self.xreg_mode not in XREG_MODES:
            raise BadInput(f"option xreg_mode must be one of {list(XREG_MODES)}, got {self.xreg_mode!r}")
        if self.ridge < 0:
            raise BadInput(f"option ridge must be >= 0, got {self.ridge}")


def _as_bool(name: str, raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false", "1", "0", "yes", "no"):
        return raw.strip().lower() in ("true", "1", "yes")
    raise BadInput(f"option {name} must be a boolean, got {raw!r}")


def _as_int(name: str, raw: object) -> int:
    if isinstance(raw, bool):
        raise BadInput(f"option {name} must be an integer, got {raw!r}")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str):
        try:
            return int(raw.strip())
        except ValueError:
            pass
    raise BadInput(f"option {name} must be an integer, got {raw!r}")


def _as_float(name: str, raw: object) -> float:
    if isinstance(raw, bool):
        raise BadInput(f"option {name} must be a number, got {raw!r}")
    if isinstance(raw, int | float):
        return float(raw)
    if isinstance(raw, str):
        try:
            return float(raw.strip())
        except ValueError:
            pass
    raise BadInput(f"option {name} must be a number, got {raw!r}")
