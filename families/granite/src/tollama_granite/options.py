"""The forecast options the granite family reads, as the kit's typed options Struct (one for the
family: TinyTimeMixer, FlowState and PatchTST-FM each read the fields that apply to them and fill
``None`` with their own default). ``tollama_kit.options.parse_options`` converts the wire options; the
JSON schema is generated into ``families/granite/options.json`` for the gateway. Imports only msgspec
and the kit (unknown options are ignored)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import msgspec
from tollama_kit import options as kit_options
from tollama_kit.adapter import Options
from tollama_kit.onnx_cache import BackendChoice

DEFAULT_CALIBRATION_WINDOWS = 100
DEFAULT_MIN_CALIBRATION_CONTEXT = 64
DEFAULT_BATCH_SIZE = 256

Positive = Annotated[int, msgspec.Meta(ge=1)]
Impute = Literal["linear", "forward_fill", "zero"]
"""``tollama_granite.windows.IMPUTE_METHODS`` (a family test keeps the two equal)."""
Score = Literal["absolute_error", "error"]
"""``tollama_granite.conformal.SCORES`` (a family test keeps the two equal)."""


class GraniteWireOptions(BackendChoice, frozen=True, kw_only=True):
    """With ``backend`` and ``precision`` (TinyTimeMixer's CPU fast path), inherited from the kit."""

    context_length: Positive | None = None
    """Points of history the model sees (default and cap: the model's own)."""
    impute: Impute = "linear"
    calibration_windows: Annotated[int, msgspec.Meta(ge=0)] = DEFAULT_CALIBRATION_WINDOWS
    min_calibration_context: Positive = DEFAULT_MIN_CALIBRATION_CONTEXT
    conformal_score: Score = "absolute_error"
    seed: Annotated[int, msgspec.Meta(ge=0)] = 0
    batch_size: Positive | None = None
    """Rows per forward pass (default: the model's own, 256 for TinyTimeMixer)."""
    scale_factor: Annotated[float, msgspec.Meta(gt=0.0)] | None = None
    """FlowState: the time-scale factor (default: granite-tsfm's recommendation for the frequency)."""


@dataclass(frozen=True)
class GraniteOptions:
    """TinyTimeMixer's options, resolved against the variant's context length."""

    context_length: int
    """Points of history the model sees (at most the variant's context length)."""
    impute: str
    calibration_windows: int
    min_calibration_context: int
    conformal_score: str
    seed: int
    batch_size: int


def wire_options(options: Options) -> GraniteWireOptions:
    return kit_options.parse_options(options, GraniteWireOptions)


def parse_options(options: Options, model_context: int) -> GraniteOptions:
    raw = wire_options(options)
    context = min(raw.context_length or model_context, model_context)
    return GraniteOptions(
        context_length=context,
        impute=raw.impute,
        calibration_windows=raw.calibration_windows,
        min_calibration_context=min(raw.min_calibration_context, context),
        conformal_score=raw.conformal_score,
        seed=raw.seed,
        batch_size=raw.batch_size or DEFAULT_BATCH_SIZE,
    )
