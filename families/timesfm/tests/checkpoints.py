"""Random TimesFM 2.5 checkpoints in the hub's file layout, built with the library's own classes.

``google/timesfm-2.5-200m-pytorch`` holds ``model.safetensors``, ``config.json`` and
``README.md``; ``TimesFM_2p5_200M_torch.save_pretrained`` writes exactly those names.
``size="tiny"`` shrinks the architecture with :mod:`tests.tiny_architecture` (it must
also be active when such a checkpoint is LOADED); ``size="real"`` is the upstream 231M
layout (about 925 MB), loadable by the unpatched public loader.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import safe_open

from . import tiny_architecture as testing_patch

#: Registry model names this family serves.
MODELS = ("timesfm-2.5-200m",)
WEIGHTS = "model.safetensors"
_PROBE = "tokenizer.output_layer.weight"  # (model_dims, hidden_dims)


def build(model: str, out_dir: str | Path, *, size: str = "tiny", seed: int = 0) -> Path:
    """Write a seeded random checkpoint for registry model ``model`` into ``out_dir``."""
    import timesfm

    if model not in MODELS:
        raise ValueError(f"unknown timesfm model {model!r}; known: {list(MODELS)}")
    if size not in ("tiny", "real"):
        raise ValueError(f"size must be 'tiny' or 'real', got {size!r}")
    out = Path(out_dir)
    with testing_patch.patched(tiny=size == "tiny"), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        tfm = timesfm.TimesFM_2p5_200M_torch(torch_compile=False)
        definition = tfm.model.config
        with torch.no_grad():
            # The library initialises RMSNorm scales (and per-dim scales) to zero, which would
            # silence every transformer block of a random model: give them random values too.
            for name, param in tfm.model.named_parameters():
                if name.endswith(".scale"):
                    param.copy_(1.0 + 0.1 * torch.randn_like(param))
                elif name.endswith("per_dim_scale"):
                    param.copy_(0.1 * torch.randn_like(param))
        config = {
            "tollama_random_checkpoint": {"size": size, "seed": seed},
            "model_dims": definition.stacked_transformers.transformer.model_dims,
            "num_layers": definition.stacked_transformers.num_layers,
            "num_heads": definition.stacked_transformers.transformer.num_heads,
        }
        tfm.save_pretrained(out, config=config)
    return out


def is_tiny(ckpt_dir: str | Path) -> bool:
    """Whether the checkpoint has the shrunk architecture (read from the weights, not a flag)."""
    with safe_open(str(Path(ckpt_dir) / WEIGHTS), framework="pt") as fh:
        shape = fh.get_slice(_PROBE).get_shape()
    return int(shape[0]) == testing_patch.TINY_MODEL_DIMS


def describe(ckpt_dir: str | Path) -> dict[str, object]:
    return json.loads((Path(ckpt_dir) / "config.json").read_text())
