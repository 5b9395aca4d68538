"""Tiny, randomly initialised Chronos checkpoints in the hub's file layout.

Built with chronos-forecasting's (and transformers') own classes and written with
``save_pretrained``, so they load through ``BaseChronosPipeline.from_pretrained`` exactly
like the real hub snapshots:

- ``chronos-t5-*``   -> config.json, generation_config.json, model.safetensors (T5ForConditionalGeneration)
- ``chronos-bolt-*`` -> config.json, model.safetensors (ChronosBoltModelForForecasting)
- ``chronos-2``      -> config.json, model.safetensors (Chronos2Model)

Every config carries the ``chronos_config`` dict and ``chronos_pipeline_class`` of the real
hub configs, with the real context/horizon/quantile settings; only the network is shrunk.
Seeded, so the same name and seed give the same weights.
"""

from __future__ import annotations

from pathlib import Path

T5_MODELS = [f"chronos-t5-{s}" for s in ("tiny", "mini", "small", "base", "large")]
BOLT_MODELS = [f"chronos-bolt-{s}" for s in ("tiny", "mini", "small", "base")]
CHRONOS2_MODELS = ["chronos-2"]
MODELS = T5_MODELS + BOLT_MODELS + CHRONOS2_MODELS

BOLT_QUANTILES = [round(0.1 * i, 1) for i in range(1, 10)]
CHRONOS2_QUANTILES = [0.01, 0.05, *[round(0.05 * i, 2) for i in range(2, 19)], 0.95, 0.99]


def kind_of(model: str) -> str:
    if model in T5_MODELS:
        return "t5"
    if model in BOLT_MODELS:
        return "bolt"
    if model in CHRONOS2_MODELS:
        return "chronos2"
    raise ValueError(f"unknown chronos model {model!r}; expected one of {MODELS}")


def _t5(out: Path) -> None:
    from transformers import GenerationConfig, T5Config, T5ForConditionalGeneration

    n_tokens = 4096  # the real vocabulary: 4094 bins + PAD + EOS
    config = T5Config(
        vocab_size=n_tokens,
        d_model=32,
        d_kv=8,
        d_ff=64,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=4,
        feed_forward_proj="relu",
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=1,
        initializer_factor=0.5,
        architectures=["T5ForConditionalGeneration"],
        chronos_pipeline_class="ChronosPipeline",
        chronos_config={
            "tokenizer_class": "MeanScaleUniformBins",
            "tokenizer_kwargs": {"low_limit": -15.0, "high_limit": 15.0},
            "n_tokens": n_tokens,
            "n_special_tokens": 2,
            "pad_token_id": 0,
            "eos_token_id": 1,
            "use_eos_token": True,
            "model_type": "seq2seq",
            "context_length": 512,
            "prediction_length": 64,
            "num_samples": 20,
            "temperature": 1.0,
            "top_k": 50,
            "top_p": 1.0,
        },
    )
    model = T5ForConditionalGeneration(config)
    model.generation_config = GenerationConfig(decoder_start_token_id=0, eos_token_id=1, pad_token_id=0)
    model.save_pretrained(out)


TINY_BOLT = {"d_model": 32, "d_kv": 8, "d_ff": 64, "num_layers": 2, "num_decoder_layers": 2, "num_heads": 4}
# The hub's network dimensions (T5-efficient), for benchmarks at real size with random weights.
REAL_BOLT = {
    "chronos-bolt-small": {"d_model": 512, "d_kv": 64, "d_ff": 2048, "num_layers": 6, "num_decoder_layers": 6, "num_heads": 8},
}


def _bolt(out: Path, dims: dict[str, int]) -> None:
    from chronos.chronos_bolt import ChronosBoltModelForForecasting
    from transformers import T5Config

    config = T5Config(
        **dims,
        feed_forward_proj="relu",
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=1,
        initializer_factor=0.5,
        architectures=["ChronosBoltModelForForecasting"],
        chronos_pipeline_class="ChronosBoltPipeline",
        chronos_config={
            "context_length": 2048,
            "input_patch_size": 16,
            "input_patch_stride": 16,
            "prediction_length": 64,
            "quantiles": BOLT_QUANTILES,
            "use_reg_token": True,
        },
    )
    ChronosBoltModelForForecasting(config).save_pretrained(out)


def _chronos2(out: Path) -> None:
    from chronos.chronos2 import Chronos2Model
    from chronos.chronos2.config import Chronos2CoreConfig

    config = Chronos2CoreConfig(
        d_model=32,
        d_kv=8,
        d_ff=64,
        num_layers=2,
        num_heads=4,
        feed_forward_proj="relu",
        initializer_factor=0.5,
        architectures=["Chronos2Model"],
        chronos_pipeline_class="Chronos2Pipeline",
        chronos_config={
            "context_length": 8192,
            "input_patch_size": 16,
            "input_patch_stride": 16,
            "output_patch_size": 16,
            "max_output_patches": 64,
            "quantiles": CHRONOS2_QUANTILES,
            "time_encoding_scale": 8192,
            "use_arcsinh": True,
            "use_reg_token": True,
        },
    )
    Chronos2Model(config).save_pretrained(out)


def build(model: str, out_dir: str | Path, seed: int = 0, size: str = "tiny") -> Path:
    """Write a random checkpoint for registry model ``model`` into ``out_dir``: ``tiny``, or the
    hub's own dimensions (``real``; defined for the models in ``REAL_BOLT``)."""
    import torch

    kind = kind_of(model)
    if size == "real" and model not in REAL_BOLT:
        raise ValueError(f"no real-size dimensions recorded for {model!r}; known: {sorted(REAL_BOLT)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    if kind == "bolt":
        _bolt(out, REAL_BOLT[model] if size == "real" else TINY_BOLT)
    else:
        {"t5": _t5, "chronos2": _chronos2}[kind](out)
    return out
