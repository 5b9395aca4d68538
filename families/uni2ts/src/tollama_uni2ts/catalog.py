"""What the adapter knows about each Moirai generation: defaults, limits, native grid.

The registry name picks the generation (``moirai-1.1-R-*`` → Moirai 1.x, ``moirai-2.0-R-*``
→ Moirai 2.0); a name the catalogue does not know (a user-created model) falls back to the
checkpoint's ``config.json``: ``patch_sizes`` (a list) is Moirai 1.x, ``patch_size`` +
``quantile_levels`` is Moirai 2.0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tollama_kit.errors import LoadFailed

Kind = Literal["moirai-1", "moirai-2"]


@dataclass(frozen=True)
class Spec:
    kind: Kind
    default_context: int
    """Look-back used when a request gives no ``context_length``."""
    max_context: int
    """Longest look-back served: the model's rotary table (512 tokens) at its smallest patch."""
    max_horizon: int


SPECS: dict[Kind, Spec] = {
    # Moirai 1.x: max_seq_len 512 tokens at the smallest patch size (8) = 4096 points.
    "moirai-1": Spec(kind="moirai-1", default_context=1024, max_context=4096, max_horizon=1024),
    # Moirai 2.0: one patch size (16) → 512 tokens = 8192 points; horizons past 64 points are
    # decoded recursively (num_predict_token 4 x patch 16 per step).
    "moirai-2": Spec(kind="moirai-2", default_context=1680, max_context=8192, max_horizon=1024),
}


def kind_for(name: str, path: str) -> Kind:
    """The Moirai generation of registry model ``name`` stored in directory ``path``."""
    lowered = name.lower()
    if lowered.startswith("moirai-2"):
        return "moirai-2"
    if lowered.startswith("moirai-1"):
        if "moe" in lowered:
            raise LoadFailed(f"{name!r}: Moirai-MoE checkpoints are not served by this adapter")
        return "moirai-1"
    config_file = Path(path) / "config.json"
    try:
        config = json.loads(config_file.read_text())
    except (OSError, ValueError) as exc:
        raise LoadFailed(f"{name!r}: cannot read {config_file}: {exc}") from exc
    if "patch_sizes" in config and "d_ff" not in config:
        return "moirai-1"
    if "patch_size" in config and "quantile_levels" in config:
        return "moirai-2"
    raise LoadFailed(f"{name!r}: {config_file} is neither a Moirai 1.x nor a Moirai 2.0 config")
