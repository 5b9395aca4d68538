"""Tiny, seeded, randomly initialised Moirai checkpoints in the hub's file layout.

Built with uni2ts' own module classes and written by their ``save_pretrained``
(``PyTorchModelHubMixin``): ``config.json`` + ``model.safetensors`` (+ the mixin's
``README.md``), the same file names as ``Salesforce/moirai-1.1-R-*`` and
``Salesforce/moirai-2.0-R-small``. Only the sizes differ from the real models, so the
adapter's loading path (``from_pretrained(dir)``) is exactly the production one.
"""

from __future__ import annotations

from pathlib import Path

import torch

MOIRAI1_MODELS = ("moirai-1.1-R-small", "moirai-1.1-R-base", "moirai-1.1-R-large")
MOIRAI2_MODELS = ("moirai-2.0-R-small",)
MODELS = MOIRAI1_MODELS + MOIRAI2_MODELS

# The real hub configs (config.json of each repo), for reference and for real-size builds.
REAL_CONFIGS: dict[str, dict[str, object]] = {
    "moirai-1.1-R-small": {"d_model": 384, "num_layers": 6},
    "moirai-1.1-R-base": {"d_model": 768, "num_layers": 12},
    "moirai-1.1-R-large": {"d_model": 1024, "num_layers": 24},
    "moirai-2.0-R-small": {"d_model": 384, "d_ff": 1024, "num_layers": 6},
}


def _mixture():  # type: ignore[no-untyped-def]
    from uni2ts.distribution import (
        LogNormalOutput,
        MixtureOutput,
        NegativeBinomialOutput,
        NormalFixedScaleOutput,
        StudentTOutput,
    )

    return MixtureOutput(
        components=[StudentTOutput(), NormalFixedScaleOutput(scale=1e-3), NegativeBinomialOutput(), LogNormalOutput()]
    )


def build_module(model: str, *, real_size: bool = False, seed: int = 0) -> torch.nn.Module:
    """A randomly initialised module for registry model ``model`` (tiny unless ``real_size``)."""
    torch.manual_seed(seed)
    if model in MOIRAI1_MODELS:
        from uni2ts.model.moirai import MoiraiModule

        dims = REAL_CONFIGS[model] if real_size else {"d_model": 64, "num_layers": 2}
        return MoiraiModule(
            distr_output=_mixture(),
            patch_sizes=(8, 16, 32, 64, 128),
            max_seq_len=512,
            attn_dropout_p=0.0,
            dropout_p=0.0,
            scaling=True,
            **dims,  # type: ignore[arg-type]
        )
    if model in MOIRAI2_MODELS:
        from uni2ts.model.moirai2 import Moirai2Module

        dims = REAL_CONFIGS[model] if real_size else {"d_model": 64, "d_ff": 128, "num_layers": 2}
        return Moirai2Module(
            patch_size=16,
            max_seq_len=512,
            attn_dropout_p=0.0,
            dropout_p=0.0,
            scaling=True,
            num_predict_token=4,
            quantile_levels=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
            **dims,  # type: ignore[arg-type]
        )
    raise ValueError(f"unknown uni2ts model {model!r}; known: {', '.join(MODELS)}")


def build(model: str, out_dir: str | Path, *, real_size: bool = False, seed: int = 0) -> Path:
    """Write the checkpoint for ``model`` to ``out_dir`` (created) and return the directory."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    module = build_module(model, real_size=real_size, seed=seed)
    module.save_pretrained(out)  # type: ignore[operator]
    return out
