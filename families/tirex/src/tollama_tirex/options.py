"""The forecast options the TiRex-2 adapter reads, as the kit's typed options Struct
(``tollama_kit.options.parse_options`` converts the wire options into it; its JSON schema is generated
into ``families/tirex/options.json`` for the gateway). Imports only msgspec.

=====================  =====  ===========  ==================================================
name                   type   default      meaning
=====================  =====  ===========  ==================================================
context_length         int    model max    use at most the last N points of each series
tta_sign_flip          bool   checkpoint   sign-flip test-time augmentation (about twice the cost)
tta_diff               bool   checkpoint   differencing of trending targets in the postprocessor
batch_size             int    512          series per forward pass (TiRex-2 halves it on OOM)
=====================  =====  ===========  ==================================================
"""

from __future__ import annotations

from typing import Annotated

import msgspec


class TirexOptions(msgspec.Struct, frozen=True, kw_only=True):
    context_length: Annotated[int, msgspec.Meta(ge=1)] | None = None
    tta_sign_flip: bool | None = None
    """None keeps the checkpoint's own setting (``config.json``)."""
    tta_diff: bool | None = None
    batch_size: Annotated[int, msgspec.Meta(ge=1)] = 512

    def predict_kwargs(self) -> dict[str, bool]:
        """The ``TiRex2.predict`` keywords the request set (unset ones keep the checkpoint's)."""
        out = {}
        if self.tta_sign_flip is not None:
            out["tta_sign_flip"] = self.tta_sign_flip
        if self.tta_diff is not None:
            out["tta_diff"] = self.tta_diff
        return out
