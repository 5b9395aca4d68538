"""Tiny, seeded, randomly initialised Sundial checkpoints in the hub's file layout.

The hub repository ``thuml/sundial-base-128m`` holds ``config.json``, ``generation_config.json``
and ``model.safetensors`` (plus the remote-code ``*.py`` files, which tollama never runs).
``build`` writes the first three with sktime's vendored ``SundialForPrediction.save_pretrained``:
the real patch geometry (16-point input tokens, 720-point output tokens) with a narrow, shallow
network and few flow-matching steps, so that loading plus a forecast takes well under a second.
"""

from __future__ import annotations

import json
from pathlib import Path

#: The registry model name of the one released checkpoint.
MODEL = "sundial-base-128m"
#: Registry model name -> hub repository.
MODELS = {"sundial-base-128m": "thuml/sundial-base-128m"}

#: The released checkpoint's config.json (sundial-base-128m), minus the bookkeeping keys.
REAL_CONFIG = {
    "input_token_len": 16,
    "hidden_size": 768,
    "intermediate_size": 3072,
    "output_token_lens": [720],
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "hidden_act": "silu",
    "use_cache": True,
    "rope_theta": 10000,
    "dropout_rate": 0.1,
    "initializer_range": 0.02,
    "max_position_embeddings": 10000,
    "flow_loss_depth": 3,
    "num_sampling_steps": 50,
    "diffusion_batch_mul": 4,
}

TINY = {
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "flow_loss_depth": 2,
    "num_sampling_steps": 8,
}

#: What the hub's config.json also carries: the remote-code map (ignored by our loader).
HUB_AUTO_MAP = {
    "AutoConfig": "configuration_sundial.SundialConfig",
    "AutoModelForCausalLM": "modeling_sundial.SundialForPrediction",
}


def build(model: str, out_dir: str | Path, *, size: str = "tiny", seed: int = 0) -> Path:
    """Write a random checkpoint for registry model ``model``; return its directory."""
    if model not in MODELS:
        raise ValueError(f"unknown sundial model {model!r}; known: {sorted(MODELS)}")
    import torch
    from sktime.libs.sundial import SundialConfig, SundialForPrediction

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    values = dict(REAL_CONFIG, **(TINY if size == "tiny" else {}))
    torch.manual_seed(seed)
    net = SundialForPrediction(SundialConfig(**values))
    with torch.no_grad():
        # post_init draws every Linear weight (std 0.02) but leaves the biases and LayerNorm
        # shifts of the flow head at zero. Give those small random values too, so that every
        # tensor of the file shapes the samples (a tensor lost on load would change the numbers)
        # and the samples spread more widely than at init.
        for tensor in net.flow_loss.parameters():
            if not tensor.any():
                tensor.normal_(0.0, 0.2)
    net.save_pretrained(str(out), safe_serialization=True)
    config_path = out / "config.json"
    config = json.loads(config_path.read_text())
    config["auto_map"] = HUB_AUTO_MAP
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    return out
