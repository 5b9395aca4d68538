"""Randomly initialised TiRex-2 checkpoints in the hub's file layout (shared by the tests and fixtures_cli).

The hub repository ``NX-AI/TiRex-2`` holds ``config.json`` (the ``TiRex2(**config)`` keyword
arguments) and ``model.safetensors``. ``TiRex2`` reaches some tensors under several names (the
bidirectional block's forward and reverse cells are one module; the sLSTM cell exposes aliases of
its recurrent kernel and bias), and safetensors stores a tensor once, so the file keeps one name
per alias group (``tirex2._state_dict.shared_tensor_groups``); ``tirex2.load_model`` restores the
others and then loads strictly.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
EPS = 1e-7


def _config(*, dim: int, heads: int, patch: int, context: int, future: int, ff: int, expand: int, recipe: list[str],
            dropout: float) -> dict[str, Any]:
    templates = {
        name: {
            "time_mixer": {"model_type": kind, "embedding_dim": dim, "num_heads": heads, "num_slstm_heads": heads},
            "variate_mixer": {"embedding_dim": dim, "num_heads": heads},
            "dropout": dropout,
            "eps": EPS,
        }
        for name, kind in (("mlstm_attn", "bi-mlstm"), ("slstm_attn", "bi-slstm"))
    }
    return {
        "stack_config": {"templates": templates, "recipe": recipe},
        "num_blocks": len(recipe),
        "embedding_dim": dim,
        "input_patch_size": patch,
        "output_patch_size": patch,
        "quantiles": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
        "tokenizer_cfg": {"output_patch_size": patch, "input_patch_size": patch, "input_patch_stride": patch},
        "scaler_cfg": {"use_arcsinh": True, "binaryaware": True},
        "h_expand": expand,
        "context_len": context,
        "future_len": future,
        "input_ff_dim": ff,
        "act_func": "SiLU",
        "dropout": dropout,
        "tta_diff": True,
        "stack_out_norm_config": {"eps": EPS},
    }


# Both block kinds (mLSTM and sLSTM time mixers, each followed by grouped attention across variates),
# shrunk so that load + forecast take a fraction of a second on one CPU thread. Width 128 keeps the
# mLSTM heads at the 16 dimensions the CUDA (Triton) kernels need.
TINY_CONFIG = _config(dim=128, heads=4, patch=16, context=512, future=64, ff=64, expand=2,
                      recipe=["mlstm_attn", "slstm_attn"], dropout=0.0)

# Real size for benchmarks. The hub's config.json cannot be read offline; these are the full-size
# dimensions of tirex-2's own test suite (width 512, 4 heads, patch 32, context 2048, horizon 320,
# input FF 2048, h_expand 4) with 14 alternating mLSTM/sLSTM blocks, the depth at which the variate
# mixers hold the paper's 44.1M multivariate parameters (95.8M parameters in all).
REAL_CONFIG = _config(dim=512, heads=4, patch=32, context=2048, future=320, ff=2048, expand=4,
                      recipe=["mlstm_attn", "slstm_attn"] * 7, dropout=0.1)

MODEL = "tirex-2"
MODELS = {MODEL: TINY_CONFIG}
SIZES = {"tiny": TINY_CONFIG, "real": REAL_CONFIG}


def tirex_module() -> Any:
    """``tirex2``, imported with torch's import-time deprecation notices silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import tirex2
    return tirex2


def one_name_per_alias(model: Any) -> dict[str, Any]:
    """The state dict as the hub stores it: the first name of every alias group only."""
    from tirex2._state_dict import shared_tensor_groups

    dropped = {name for group in shared_tensor_groups(model) for name in group[1:]}
    return {k: v.detach().contiguous() for k, v in model.state_dict().items() if k not in dropped}


def build(model: str, out_dir: Path | str, seed: int = 0, size: str = "tiny") -> Path:
    """Write ``config.json`` + ``model.safetensors`` for a ``TiRex2`` with seeded random weights."""
    import torch
    from safetensors.torch import save_file

    if model not in MODELS:
        raise SystemExit(f"unknown tirex model {model!r}; known: {sorted(MODELS)}")
    config = SIZES[size]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    net = tirex_module().TiRex2(**config, device="cpu")
    save_file(one_name_per_alias(net), str(out / WEIGHTS_FILE), metadata={"format": "pt"})
    (out / CONFIG_FILE).write_text(json.dumps(config, indent=2))
    return out
