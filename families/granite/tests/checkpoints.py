"""Tiny randomly initialised TinyTimeMixer checkpoints, built with granite-tsfm's own classes.

Same file layout as a revision of ``ibm-granite/granite-timeseries-ttm-r2`` (``config.json`` +
``model.safetensors``), same context and prediction length as the registry model it stands
for, but d_model 16 and one layer: loading plus a forecast takes well under a second on CPU
(``size="real"``: the hub's dimensions, for benchmarks).
"""

from __future__ import annotations

from pathlib import Path

from tollama_granite.variants import expected_shape


TINY = {"d_model": 16, "decoder_d_model": 16, "num_layers": 1, "decoder_num_layers": 1, "adaptive_patching_levels": 2}
# The hub's dimensions for the r2 variants: with context 512 and horizon 96 this is 805,280
# parameters, the published size of granite-timeseries-ttm-r2 (main).
REAL = {"d_model": 192, "decoder_d_model": 128, "num_layers": 2, "decoder_num_layers": 2, "adaptive_patching_levels": 3}


def build(model: str, out_dir: str | Path, *, seed: int = 0, prefix_tuning: bool = False, size: str = "tiny") -> Path:
    import torch
    from tsfm_public import TinyTimeMixerConfig, TinyTimeMixerForPrediction

    shape = expected_shape(model)
    if shape is None:
        raise KeyError(f"unknown granite registry model {model!r}")
    context, horizon = shape
    patch = context // 8
    config = TinyTimeMixerConfig(
        context_length=context,
        prediction_length=horizon,
        patch_length=patch,
        patch_stride=patch,
        **{"tiny": TINY, "real": REAL}[size],
        use_decoder=True,
        resolution_prefix_tuning=prefix_tuning,
        frequency_token_vocab_size=10,  # granite-tsfm's DEFAULT_FREQUENCY_MAPPING has tokens 0..9
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = TinyTimeMixerForPrediction(config)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    net.save_pretrained(out)
    return out
