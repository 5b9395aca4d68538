"""Tiny, randomly initialised Toto checkpoints in the hub's file layout (shared by the tests and fixtures_cli).

The hub repository ``Datadog/Toto-Open-Base-1.0`` holds ``config.json`` (the ``Toto(**config)``
keyword arguments) and ``model.safetensors``. ``Toto`` has no save method, so both files are
written here from ``state_dict()``. The weights are stored under xFormers' fused SwiGLU names
(``mlp.0.w12`` / ``mlp.0.w3``), as in the checkpoint Datadog trained with xFormers; the loader
maps them back to the plain PyTorch layers when xFormers is absent (as it is here).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"

# Same keys as the hub's config.json; sizes shrunk so that load + forecast take well under a second.
TINY_CONFIG: dict[str, Any] = {
    "patch_size": 16,
    "stride": 16,
    "embed_dim": 32,
    "num_layers": 2,
    "num_heads": 2,
    "mlp_hidden_dim": 64,
    "dropout": 0.1,
    "spacewise_every_n_layers": 2,
    "spacewise_first": False,
    "scaler_cls": "<class 'model.scaler.CausalPatchStdMeanScaler'>",
    "output_distribution_classes": ["<class 'model.distribution.MixtureOfStudentTsOutput'>"],
    "output_distribution_kwargs": {"k_components": 4},
    "use_memory_efficient_attention": True,  # as on the hub; the loader turns it off without xFormers
    "stabilize_with_global": True,
    "scale_factor_exponent": 10.0,
}

# The hub's network dimensions (151,306,080 parameters, as Toto-Open-Base-1.0), for benchmarks.
REAL_CONFIG: dict[str, Any] = {
    **TINY_CONFIG,
    "patch_size": 64,
    "stride": 64,
    "embed_dim": 768,
    "num_layers": 12,
    "num_heads": 12,
    "mlp_hidden_dim": 3072,
    "spacewise_every_n_layers": 12,
    "output_distribution_kwargs": {"k_components": 24},
}

MODEL = "toto-open-base-1.0"
MODELS: dict[str, dict[str, Any]] = {MODEL: TINY_CONFIG}
SIZES = {"tiny": TINY_CONFIG, "real": REAL_CONFIG}

_TO_FUSED = {
    ".mlp.0.weight": ".mlp.0.w12.weight",
    ".mlp.0.bias": ".mlp.0.w12.bias",
    ".mlp.2.weight": ".mlp.0.w3.weight",
    ".mlp.2.bias": ".mlp.0.w3.bias",
}


def hub_key(key: str) -> str:
    for plain, fused in _TO_FUSED.items():
        if key.endswith(plain):
            return key[: -len(plain)] + fused
    return key


def toto_module() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import toto.model.toto as toto_model
    return toto_model


def build(model: str, out_dir: str | Path, seed: int = 0, size: str = "tiny") -> Path:
    """Write a checkpoint (``size`` tiny or real) for registry model ``model`` into ``out_dir``;
    deterministic in ``seed``."""
    import torch
    from safetensors.torch import save_file

    if model not in MODELS:
        raise SystemExit(f"unknown toto model {model!r}; known: {sorted(MODELS)}")
    config = SIZES[size]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    net = toto_module().Toto(**{**config, "use_memory_efficient_attention": False})
    state = {hub_key(k): v.detach().contiguous() for k, v in net.state_dict().items()}
    save_file(state, str(out / WEIGHTS_FILE), metadata={"format": "pt"})
    (out / CONFIG_FILE).write_text(json.dumps(config, indent=2))
    return out
