"""The forecast options the Toto adapter reads (docs/families/toto.md), as the kit's typed options
Struct: ``tollama_kit.options.parse_options`` converts the wire options into it, and its JSON schema is
generated into ``families/toto/options.json`` for the gateway. Imports only msgspec (the gateway's
tooling reads it)."""

from __future__ import annotations

from typing import Annotated

import msgspec

MAX_CONTEXT = 4096
"""Toto-Open-Base-1.0 was trained on contexts of up to 4096 steps; longer histories are cut."""


class TotoOptions(msgspec.Struct, frozen=True, kw_only=True):
    num_samples: Annotated[int, msgspec.Meta(ge=0)] = 256
    """Sample paths per series; 0 asks for Toto's mean decoding (no samples, no spread)."""
    samples_per_batch: Annotated[int, msgspec.Meta(ge=1)] | None = None
    """Sample paths decoded together; None lets the adapter pick from its memory budget."""
    seed: Annotated[int, msgspec.Meta(ge=0)] = 0
    context_length: Annotated[int, msgspec.Meta(ge=1)] = MAX_CONTEXT

    def __post_init__(self) -> None:
        spb = self.samples_per_batch
        if spb is not None and self.num_samples and self.num_samples % spb:
            raise ValueError(f"option 'samples_per_batch' ({spb}) must divide 'num_samples' ({self.num_samples})")
