"""The forecast options the uni2ts adapter reads, as the kit's typed options Struct
(``tollama_kit.options.parse_options`` converts the wire options into it; its JSON schema is generated
into ``families/uni2ts/options.json`` for the gateway). Imports only msgspec.

The model-dependent part (the context cap, which patch sizes a checkpoint has) is resolved per call by
``tollama_uni2ts.inputs.settings``.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec


class Uni2tsOptions(msgspec.Struct, frozen=True, kw_only=True):
    context_length: Annotated[int, msgspec.Meta(ge=1)] | None = None
    """Points of history (default: the model's default context; capped at its maximum)."""
    patch_size: Annotated[int, msgspec.Meta(ge=1)] | Literal["auto"] = "auto"
    """Moirai 1.x: one of the checkpoint's patch sizes, or ``auto`` (Moirai 2.0 has one and ignores it)."""
    num_samples: Annotated[int, msgspec.Meta(ge=1)] = 100
    seed: Annotated[int, msgspec.Meta(ge=-1)] = 0
    """-1 leaves the RNG alone and batches series together."""
    batch_size: Annotated[int, msgspec.Meta(ge=1)] = 64
