"""TEST-ONLY: shrink TimesFM 2.5's hard-coded architecture so tiny random checkpoints load.

timesfm 3.0.2 defines the 2.5 architecture as a class attribute
(``TimesFM_2p5_200M_torch_module.config``, a ``TimesFM_2p5_200M_Definition`` with 20
layers of width 1280); the public loader ``TimesFM_2p5_200M_torch.from_pretrained`` builds
that module and loads the safetensors strictly. A tiny checkpoint therefore loads only
while that class attribute is replaced by :func:`tiny_definition`.

Test-only, so it lives with the tests (not in the product). It is used by

- the family's own tests (``tests/checkpoints.py`` builds and loads under :func:`patched`);
- gateway-level tests that start a real worker process: they put ``tests/tiny_worker`` on the
  worker's ``PYTHONPATH`` (see :data:`WORKER_PATH`), whose ``sitecustomize`` calls :func:`apply` as
  the interpreter starts. A worker started that way can load ONLY tiny checkpoints.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from timesfm import configs
from timesfm.timesfm_2p5 import timesfm_2p5_base, timesfm_2p5_torch

WORKER_PATH = str(Path(__file__).resolve().parent / "tiny_worker")
"""Prepend to a worker process's ``PYTHONPATH`` to start it with the tiny architecture."""

#: Tiny dimensions: width 32, 2 heads, 2 layers (about 0.4M parameters, 1.6 MB).
TINY_MODEL_DIMS = 32
TINY_HEADS = 2
TINY_LAYERS = 2

_MODULE = timesfm_2p5_torch.TimesFM_2p5_200M_torch_module
_ORIGINAL = _MODULE.config


def tiny_definition() -> timesfm_2p5_base.TimesFM_2p5_200M_Definition:
    """The 2.5 definition with every width shrunk; patch sizes and the quantile grid kept."""
    base = timesfm_2p5_base.TimesFM_2p5_200M_Definition()
    md = TINY_MODEL_DIMS
    n_outputs = len(base.quantiles) + 1  # the mean plus the quantile grid
    transformer = dataclasses.replace(
        base.stacked_transformers.transformer, model_dims=md, hidden_dims=md, num_heads=TINY_HEADS
    )
    return dataclasses.replace(
        base,
        tokenizer=dataclasses.replace(base.tokenizer, hidden_dims=md, output_dims=md),
        stacked_transformers=configs.StackedTransformersConfig(num_layers=TINY_LAYERS, transformer=transformer),
        output_projection_point=dataclasses.replace(
            base.output_projection_point, input_dims=md, hidden_dims=md, output_dims=base.output_patch_len * n_outputs
        ),
        output_projection_quantiles=dataclasses.replace(
            base.output_projection_quantiles,
            input_dims=md,
            hidden_dims=md,
            output_dims=base.output_quantile_len * n_outputs,
        ),
    )


def apply() -> None:
    """Replace the class-level definition for the rest of the process."""
    _MODULE.config = tiny_definition()


def restore() -> None:
    """Put the upstream 200M definition back."""
    _MODULE.config = _ORIGINAL


def is_applied() -> bool:
    return _MODULE.config is not _ORIGINAL


@contextmanager
def patched(tiny: bool = True) -> Iterator[None]:
    """Within the block the definition is tiny (``tiny=True``) or the upstream one (``False``)."""
    before = _MODULE.config
    _MODULE.config = tiny_definition() if tiny else _ORIGINAL
    try:
        yield
    finally:
        _MODULE.config = before
