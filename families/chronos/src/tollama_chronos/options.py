"""Forecast options the chronos family reads, with their defaults (unknown options are ignored), as the
kit's typed options Struct (its JSON schema is generated into ``families/chronos/options.json``).

=====================  =====  ===========  ==================================================
name                   type   default      meaning
=====================  =====  ===========  ==================================================
context_length         int    model max    use at most the last N points of each series
num_samples            int    20           Chronos (T5): sample paths per series
temperature            float  model cfg    Chronos (T5): sampling temperature
top_k                  int    model cfg    Chronos (T5): top-k sampling
top_p                  float  model cfg    Chronos (T5): nucleus sampling
seed                   int    0            Chronos (T5): torch seed set before each series;
                                           a negative seed leaves the RNG alone and batches
                                           series together (faster on GPU, not reproducible)
max_sequences          int    256          Chronos (T5): cap on series x samples per generate call
batch_size             int    256          Bolt / Chronos-2: rows (targets + covariates) per forward pass
dtype                  str    auto         a load option (sent with ``/v1/load``): auto, float32, bfloat16, float16
backend                str    auto         Bolt: ``auto``, ``torch`` or ``onnx`` (the CPU fast path)
precision              str    float32      Bolt on ONNX: ``float32`` or ``int8`` (dynamic quantisation)
=====================  =====  ===========  ==================================================
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from tollama_kit.onnx_cache import BackendChoice
from tollama_kit.options import parse_options

Positive = Annotated[int, msgspec.Meta(ge=1)]
Unit = Annotated[float, msgspec.Meta(ge=1e-6, le=1.0)]


class ForecastOptions(BackendChoice, frozen=True, kw_only=True):
    """With ``backend`` and ``precision`` (the CPU fast path for Bolt), inherited from the kit."""

    context_length: Positive | None = None
    num_samples: Positive = 20
    temperature: Annotated[float, msgspec.Meta(ge=1e-6)] | None = None
    top_k: Positive | None = None
    top_p: Unit | None = None
    seed: int = 0
    max_sequences: Positive = 256
    batch_size: Positive = 256
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    """Read at load (``adapter._dtype``); listed here so the gateway knows the family takes it."""

    @classmethod
    def parse(cls, options: dict[str, Any]) -> ForecastOptions:
        return parse_options(options, cls)
