"""The forecast options the sundial adapter reads (docs/families/sundial.md), as the kit's typed options
Struct (``tollama_kit.options.parse_options`` converts the wire options into it; its JSON schema is
generated into ``families/sundial/options.json`` for the gateway). Imports only msgspec."""

from __future__ import annotations

from typing import Annotated

import msgspec

MAX_NUM_SAMPLES = 1000


class SundialOptions(msgspec.Struct, frozen=True, kw_only=True):
    num_samples: Annotated[int, msgspec.Meta(ge=1, le=MAX_NUM_SAMPLES)] = 20
    seed: Annotated[int, msgspec.Meta(ge=-1, le=2**63 - 1)] = 0
    """-1: unseeded, and rows of equal length share one forward pass."""
    context_length: Annotated[int, msgspec.Meta(ge=1)] | None = None
    """Default and cap: the model's maximum context (a longer one is cut, with a warning)."""
    batch_size: Annotated[int, msgspec.Meta(ge=1)] = 64
