"""The forecast options the Toto 2.0 adapter reads (docs/families/toto2.md), as the kit's typed options
Struct: ``tollama_kit.options.parse_options`` converts the wire options into it, and its JSON schema is
generated into ``families/toto2/options.json`` for the gateway. Imports only msgspec."""

from __future__ import annotations

from typing import Annotated

import msgspec

MAX_CONTEXT = 4096
"""The adapter's cap on the context (its cost grows with it); the hub configs state no training length."""


class Toto2WireOptions(msgspec.Struct, frozen=True, kw_only=True):
    context_length: Annotated[int, msgspec.Meta(ge=1)] = MAX_CONTEXT
    decode_block_size: Annotated[int, msgspec.Meta(ge=0)] = 0
    """Steps decoded per block (a multiple of the model's patch size); 0: the whole horizon at once."""
