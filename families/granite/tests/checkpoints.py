"""Tiny randomly initialised checkpoints, built with granite-tsfm's own classes.

Same file layout as the hub repositories (``config.json`` + ``model.safetensors``, written by
``save_pretrained``). TinyTimeMixer: same context and prediction length as the registry variant
it stands for, but d_model 16 and one layer. FlowState and PatchTST-FM: the published context
lengths, quantile grids and patch lengths, with tiny widths. Loading plus a forecast takes well
under a second on CPU (``size="real"``: the hub's dimensions, for benchmarks).
"""

from __future__ import annotations

from pathlib import Path

from tollama_granite.variants import expected_shape

TINY = {"d_model": 16, "decoder_d_model": 16, "num_layers": 1, "decoder_num_layers": 1, "adaptive_patching_levels": 2}
# The hub's dimensions for the r2 variants: with context 512 and horizon 96 this is 805,280
# parameters, the published size of granite-timeseries-ttm-r2 (main).
REAL = {"d_model": 192, "decoder_d_model": 128, "num_layers": 2, "decoder_num_layers": 2, "adaptive_patching_levels": 3}


FLOWSTATE = "granite-flowstate-r1.1"
PATCHTST_FM = "granite-patchtst-fm-r1"
# ibm-granite/granite-timeseries-flowstate-r1 (r1.1): 9,067,776 parameters (7.89M encoder, 1.18M decoder)
FLOWSTATE_DIMS = {
    "tiny": {"embedding_feature_dim": 16, "encoder_num_layers": 2, "encoder_state_dim": 16, "decoder_dim": 8},
    "real": {"embedding_feature_dim": 512, "encoder_num_layers": 6, "encoder_state_dim": 512, "decoder_dim": 256},
}
# ibm-granite/granite-timeseries-patchtst-fm-r1: d_model 1024, patch 16, 99 quantiles, ~260M parameters
PATCHTST_FM_DIMS = {
    "tiny": {"d_model": 16, "n_head": 2, "n_layer": 1},
    "real": {"d_model": 1024, "n_head": 16, "n_layer": 20},
}
MODELS = (FLOWSTATE, PATCHTST_FM)


def _save(net, out_dir: str | Path) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    net.save_pretrained(out)
    return out


def build_flowstate(out_dir: str | Path, *, seed: int = 0, size: str = "tiny") -> Path:
    import torch
    from tsfm_public import FlowStateConfig, FlowStateForPrediction

    config = FlowStateConfig(
        context_length=2048, decoder_patch_len=24, encoder_num_hippo_blocks=8, decoder_type="legs",
        quantiles=[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9], scale_factor=1.0, prediction_type="mean",
        batch_first=False,  # as some hub configs have it: the adapter must pass batch_first itself
        **FLOWSTATE_DIMS[size],
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = FlowStateForPrediction(config)
    return _save(net, out_dir)


def build_patchtst_fm(out_dir: str | Path, *, seed: int = 0, size: str = "tiny") -> Path:
    import torch
    from tsfm_public import PatchTSTFMConfig, PatchTSTFMForPrediction

    config = PatchTSTFMConfig(context_length=8192, d_patch=16, num_quantile=99, **PATCHTST_FM_DIMS[size])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = PatchTSTFMForPrediction(config)
    return _save(net, out_dir)


def build(model: str, out_dir: str | Path, *, seed: int = 0, prefix_tuning: bool = False, size: str = "tiny") -> Path:
    import torch
    from tsfm_public import TinyTimeMixerConfig, TinyTimeMixerForPrediction

    if model == FLOWSTATE:
        return build_flowstate(out_dir, seed=seed, size=size)
    if model == PATCHTST_FM:
        return build_patchtst_fm(out_dir, seed=seed, size=size)
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
    return _save(net, out_dir)
