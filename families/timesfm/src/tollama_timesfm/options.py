"""The forecast options the TimesFM adapter reads (documented in docs/families/timesfm.md).

The kit's typed options Struct: ``tollama_kit.options.parse_options`` converts the wire options into
it (unknown options are ignored; a wrong type or value is one :class:`~tollama_kit.errors.BadInput`
naming the option), and its JSON schema is generated into ``families/timesfm/options.json`` for the
gateway. Imports only msgspec and the kit.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from tollama_kit.adapter import Options
from tollama_kit.options import parse_options

#: TimesFM 2.5 limits (timesfm 3.0.2): context + horizon, each rounded up to its patch size,
#: must fit the model's 16384-step window; the continuous quantile head covers 1024 steps.
CONTEXT_LIMIT = 16384
INPUT_PATCH = 32
OUTPUT_PATCH = 128
MAX_HORIZON = 1024
MAX_CONTEXT = CONTEXT_LIMIT - MAX_HORIZON



def round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    context_length: Annotated[int, msgspec.Meta(ge=1)] = 1024
    """Use at most the last this many points of each series."""
    batch_size: Annotated[int, msgspec.Meta(ge=1, le=4096)] = 32
    """Series per forward pass (``per_core_batch_size``); the last pass is padded up to it."""
    normalize_inputs: bool = True
    use_continuous_quantile_head: bool = True
    force_flip_invariance: bool = True
    infer_is_positive: bool = True
    fix_quantile_crossing: bool = True
    xreg_mode: Literal["xreg + timesfm", "timesfm + xreg"] = "xreg + timesfm"
    ridge: Annotated[float, msgspec.Meta(ge=0.0)] = 0.0
    normalize_xreg_target_per_input: bool = True

    @classmethod
    def from_options(cls, options: Options) -> Settings:
        return parse_options(options, cls)
