"""FlowState r1.1 through granite-tsfm 0.3.11 (``FlowStateForPrediction``).

FlowState is an SSM encoder with a functional basis decoder; its ``scale_factor`` stretches the
model's time axis to the data's sampling rate. The default is granite-tsfm's own recommendation
for the request's frequency (``tsfm_public.models.flowstate.utils.utils.get_fixed_factor``, the
helper its GIFT-Eval wrapper uses); option ``scale_factor`` overrides it.

The scale factor also sets the model's limits, with the library's arithmetic
(``FlowStateForPrediction.forward``): one decoder patch covers ``P = int(decoder_patch_len / s)``
steps, the history it reads is ``min(16384, int(context_length / s))`` points, and every step beyond
one patch takes one point off that history. Longer series are cut to it (the model would cut them
itself); a horizon that would leave no history is refused.

Forecasts are native quantiles (the checkpoint's grid, 0.1…0.9) plus the library's mean estimate
from them (``prediction_type="mean"``). Univariate: each target variate is forecast on its own.
Series of equal (cut) length share a forward pass: batching series of different lengths would need
padding, which changes what the model reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tollama_kit.adapter import ForecastInput, ForecastOutput, Options
from tollama_kit.errors import BadInput

from tollama_granite import channels
from tollama_granite.options import wire_options

MODEL_TYPE = "flowstate"
MAX_HISTORY = 16 * 1024  # FlowStateForPrediction.forward caps the history it reads at this
DEFAULT_BATCH_SIZE = 256

# tollama's normalised frequency units -> the pandas spelling get_fixed_factor reads
_UPSTREAM_UNIT = {"s": "S", "min": "T", "h": "H", "D": "D", "B": "B", "W": "W",
                  "MS": "M", "ME": "M", "QS": "Q", "QE": "Q", "YS": "A", "YE": "A"}
_ALIAS = re.compile(r"^(\d*)([A-Za-z]+)(-[A-Z]{3})?$")


def upstream_alias(freq: str | None) -> str | None:
    """The request's frequency (tollama's alias: ``h``, ``15min``, ``W-SAT``, ``MS``) spelled as
    granite-tsfm's ``get_fixed_factor`` expects it (``H``, ``15T``, ``W``, ``M``)."""
    if not freq:
        return None
    m = _ALIAS.match(freq)
    if m is None or m.group(2) not in _UPSTREAM_UNIT:
        return None
    count, unit, _anchor = m.groups()
    n = int(count) if count else 1
    # The weekday anchor is dropped: every W-xxx has the same factor upstream, and its parser
    # mistakes "W-SAT" (ending in T) for a multiple of minutes and raises.
    return ("" if n == 1 else str(n)) + _UPSTREAM_UNIT[unit]


def recommended_scale_factor(freq: str | None) -> float | None:
    """granite-tsfm's recommended scale factor for ``freq``; None where it has none."""
    from tsfm_public.models.flowstate.utils.utils import get_fixed_factor

    alias = upstream_alias(freq)
    if alias is None:
        return None
    try:
        return float(get_fixed_factor(alias))
    except (NotImplementedError, ValueError):
        return None


@dataclass(frozen=True)
class FlowStateOptions:
    scale_factor: float
    context_length: int
    batch_size: int


@dataclass
class FlowStateHandle:
    model: Any
    name: str
    device: str
    context_length: int
    decoder_patch_len: int
    default_scale: float
    levels: tuple[float, ...]


def load(name: str, path: str, device: str) -> FlowStateHandle:
    from tsfm_public import FlowStateForPrediction

    model = FlowStateForPrediction.from_pretrained(path).to(device).eval()
    cfg = model.config
    return FlowStateHandle(
        model=model, name=name, device=device, context_length=int(cfg.context_length),
        decoder_patch_len=int(cfg.decoder_patch_len), default_scale=float(cfg.scale_factor),
        levels=tuple(float(q) for q in cfg.quantiles),
    )


def limits(handle: FlowStateHandle, scale: float, horizon: int) -> tuple[int, int]:
    """(history points the model reads, largest horizon) at ``scale``, for ``horizon`` steps."""
    patch = int(handle.decoder_patch_len / scale + 1e-6)
    history = min(MAX_HISTORY, int(handle.context_length / scale))
    return history - max(0, horizon - patch), history + patch - 1


def parse_options(handle: FlowStateHandle, options: Options, freq: str | None, warnings: list[str]) -> FlowStateOptions:
    raw = wire_options(options)
    if raw.scale_factor is not None:
        scale = raw.scale_factor
    else:
        recommended = recommended_scale_factor(freq)
        if recommended is None:
            scale = handle.default_scale
            warnings.append(
                f"granite: FlowState: granite-tsfm recommends no scale_factor for frequency {freq!r}; used the "
                f"checkpoint's {scale} (set options.scale_factor = 24 / the number of steps in one season of "
                "your data)"
            )
        else:
            scale = recommended
    if scale > handle.decoder_patch_len:
        raise BadInput(
            f"option 'scale_factor' must be at most {handle.decoder_patch_len} (the decoder patch length) for "
            f"{handle.name}; got {scale}"
        )
    return FlowStateOptions(
        scale_factor=scale,
        context_length=raw.context_length or MAX_HISTORY,
        batch_size=raw.batch_size or DEFAULT_BATCH_SIZE,
    )


def forecast(handle: FlowStateHandle, batch: ForecastInput) -> ForecastOutput:
    warnings: list[str] = []
    opts = parse_options(handle, batch.options, batch.freq, warnings)
    horizon = batch.horizon
    history, most = limits(handle, opts.scale_factor, horizon)
    if history < 1:
        raise BadInput(
            f"{handle.name} forecasts at most {most} steps at scale_factor {opts.scale_factor:g}; horizon "
            f"{horizon} requested"
        )
    rows = channels.cut_rows(batch, min(history, opts.context_length), handle.name)

    def call(x: Any) -> Any:
        return handle.model(past_values=x, prediction_length=horizon, scale_factor=opts.scale_factor,
                            batch_first=True, prediction_type="mean")

    means, quants = channels.run_rows(rows, horizon, len(handle.levels), opts.batch_size, handle.device, call)
    return channels.to_output(batch, handle.levels, means, quants, warnings)
