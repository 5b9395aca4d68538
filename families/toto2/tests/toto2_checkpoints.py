"""Randomly initialised Toto 2.0 checkpoints in the hub's file layout (shared by the tests and fixtures_cli).

The hub repositories ``Datadog/Toto-2.0-*`` hold ``config.json`` (the ``Toto2ModelConfig`` fields)
and ``model.safetensors``, which is what ``Toto2Model.save_pretrained`` (huggingface_hub's
``PyTorchModelHubMixin``) writes; ``Toto2Model.from_pretrained(dir)`` reads it back.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"

# Both layer kinds (time attention and variate attention, two groups of two), shrunk so that load and
# forecast take a fraction of a second on one CPU thread.
TINY = {
    "patch_size": 16, "d_model": 64, "num_heads": 4, "num_layers": 4, "layer_group_size": 2,
    "num_variate_layers_per_group": 1, "variate_layer_first": False, "context_length": 512,
}
# Real size for benchmarks. The hub's config.json cannot be read offline (no hub here): these are
# dimensions chosen with toto-2's own classes to give the parameter count the model card publishes
# for Toto-2.0-22m (22M), with the tiny config's layer pattern. Timings at this size are what a
# 22M-parameter Toto 2.0 costs, not a measurement of the published checkpoint.
REAL = {
    "patch_size": 32, "d_model": 448, "num_heads": 8, "num_layers": 8, "layer_group_size": 4,
    "num_variate_layers_per_group": 1, "variate_layer_first": False, "context_length": 2048,
}

MODELS = {name: TINY for name in ("toto-2.0-4m", "toto-2.0-22m", "toto-2.0-313m", "toto-2.0-1b", "toto-2.0-2.5b")}
MODEL = "toto-2.0-4m"
SIZES = {"tiny": TINY, "real": REAL}


def toto2_module() -> Any:
    """``toto2``, imported with gluonts' and torch's import-time notices silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import toto2
    return toto2


def config(size: str = "tiny") -> Any:
    dims = dict(SIZES[size])
    context = dims.pop("context_length")
    toto2 = toto2_module()
    ratio = toto2.Toto2ModelConfig.compute_residual_attn_ratio(context, dims["patch_size"])
    return toto2.Toto2ModelConfig(**dims, residual_attn_ratio=ratio)


def build(model: str, out_dir: Path | str, seed: int = 0, size: str = "tiny") -> Path:
    """Write ``config.json`` + ``model.safetensors`` for a ``Toto2Model`` with seeded random weights."""
    import torch

    if model not in MODELS:
        raise SystemExit(f"unknown toto2 model {model!r}; known: {sorted(MODELS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    net = toto2_module().Toto2Model(config(size))
    net.save_pretrained(out)
    return out
