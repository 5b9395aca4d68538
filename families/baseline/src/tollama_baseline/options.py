"""The forecast options the baseline adapter reads, as the kit's typed options Struct
(``tollama_kit.options.parse_options`` converts the wire options into it; its JSON schema is generated
into ``families/baseline/options.json`` for the gateway). Imports only msgspec."""

from __future__ import annotations

from typing import Annotated

import msgspec

MAX_CONTEXT = 100_000
"""The longest history (and season) the statistical models are fitted on."""

Steps = Annotated[int, msgspec.Meta(ge=1, le=MAX_CONTEXT)]


class BaselineOptions(msgspec.Struct, frozen=True, kw_only=True):
    season_length: Steps | None = None
    """The seasonal period; default: the request frequency's (1, no seasonality, when unknown)."""
    context_length: Steps | None = None
    """Fit on at most the last N points (default: the model's own default context)."""
