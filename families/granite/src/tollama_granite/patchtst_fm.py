"""PatchTST-FM r1 through granite-tsfm 0.3.11 (``PatchTSTFMForPrediction``).

A patch transformer that forecasts by reconstructing a masked window: its ``context_length``
(8192 for r1) holds the history *and* the forecast window, which is at least
``d_patch * max(pretrain_mask_cont, 2)`` steps (the library's rule in ``forward``). So a series
reads at most ``context_length - window`` points (longer ones are cut, as the model would cut
them); a horizon must leave at least one point of history.

Forecasts are native quantiles (99 levels, 0.01…0.99; other levels are interpolated) and the
library's mean, the integral of its quantile function (``prediction_outputs``). Channels are
independent: each target variate is forecast on its own. Series of equal (cut) length share a
forward pass through the library's tensor path, which prunes the left padding of short inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tollama_kit.adapter import ForecastInput, ForecastOutput
from tollama_kit.errors import BadInput

from tollama_granite import channels
from tollama_granite.options import wire_options

MODEL_TYPE = "patchtst_fm"
DEFAULT_BATCH_SIZE = 64


@dataclass
class PatchTSTFMHandle:
    model: Any
    name: str
    device: str
    context_length: int
    min_window: int
    levels: tuple[float, ...]


def load(name: str, path: str, device: str) -> PatchTSTFMHandle:
    from tsfm_public import PatchTSTFMForPrediction

    model = PatchTSTFMForPrediction.from_pretrained(path).to(device).eval()
    cfg = model.config
    cont = int(cfg.pretrain_mask_cont) * (2 if getattr(cfg, "randomize_cpm", False) else 1)
    return PatchTSTFMHandle(
        model=model, name=name, device=device, context_length=int(cfg.context_length),
        min_window=int(cfg.d_patch) * max(cont, 2), levels=tuple(float(q) for q in cfg.quantile_levels),
    )


def history_for(handle: PatchTSTFMHandle, horizon: int) -> int:
    """Points of history the model reads for ``horizon`` steps (< 1: the horizon does not fit)."""
    return handle.context_length - max(horizon, handle.min_window)


def forecast(handle: PatchTSTFMHandle, batch: ForecastInput) -> ForecastOutput:
    horizon = batch.horizon
    history = history_for(handle, horizon)
    if history < 1:
        raise BadInput(
            f"{handle.name} forecasts at most {handle.context_length - 1} steps (its window of "
            f"{handle.context_length} holds history and horizon); horizon {horizon} requested"
        )
    raw = wire_options(batch.options)
    width = min(history, raw.context_length or history)
    batch_size = raw.batch_size or DEFAULT_BATCH_SIZE
    rows = channels.cut_rows(batch, width, handle.name)

    def call(x: Any) -> Any:
        return handle.model(past_values=x, prediction_length=horizon)

    means, quants = channels.run_rows(rows, horizon, len(handle.levels), batch_size, handle.device, call)
    return channels.to_output(batch, handle.levels, means, quants, [])
