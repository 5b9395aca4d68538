"""FlowState and PatchTST-FM called directly (granite-tsfm's public API, not the adapter).

One series at a time, the way granite-tsfm's own notebooks and GIFT-Eval wrappers call them:

* FlowState: ``FlowStateForPrediction.from_pretrained(dir)``; ``scale_factor`` = the request's
  option, else ``get_fixed_factor(freq)`` with ``freq`` in the pandas spelling upstream reads
  (``"H"``, ``"W"``, ``"M"``); ``model(past_values=(1, T, 1), prediction_length=H,
  scale_factor=s, batch_first=True)``; the model cuts the history itself.
* PatchTST-FM: ``PatchTSTFMForPrediction.from_pretrained(dir)``; ``model(past_values=[tensor(T)],
  prediction_length=H)`` -- the list input of upstream's GIFT-Eval predictor (no pruning, padding
  masked), while the adapter uses the tensor input (pruned padding).

Quantiles: the model's own levels, picked by index; levels off its grid are interpolated linearly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

FLOWSTATE = "granite-flowstate-r1.1"
PATCHTST_FM = "granite-patchtst-fm-r1"
MODELS = (FLOWSTATE, PATCHTST_FM)


def _pick(native: list[float], q: np.ndarray, wanted: list[float]) -> np.ndarray:
    """``q`` (levels, C, H) on ``native`` -> (wanted, C, H)."""
    out = []
    for level in wanted:
        hits = [i for i, n in enumerate(native) if abs(n - level) < 1e-9]
        if hits:
            out.append(q[hits[0]])
        else:
            flat = q.reshape(q.shape[0], -1)
            out.append(np.array([np.interp(level, native, flat[:, j]) for j in range(flat.shape[1])]).reshape(q.shape[1:]))
    return np.stack(out)


def load(model_name: str, ckpt: str) -> Any:
    if model_name == FLOWSTATE:
        from tsfm_public import FlowStateForPrediction

        return FlowStateForPrediction.from_pretrained(ckpt).eval()
    from tsfm_public import PatchTSTFMForPrediction

    return PatchTSTFMForPrediction.from_pretrained(ckpt).eval()


def _flowstate_one(model, y: np.ndarray, horizon: int, scale: float):
    import torch

    x = torch.tensor(y, dtype=torch.float32)[None, :, None]
    with torch.no_grad():
        out = model(past_values=x, prediction_length=horizon, scale_factor=scale, batch_first=True, prediction_type="mean")
    return out.prediction_outputs[0, :, 0].numpy(), out.quantile_outputs[0, :, :, 0].numpy()


def _patchtst_fm_one(model, y: np.ndarray, horizon: int):
    import torch

    with torch.no_grad():
        out = model(past_values=[torch.tensor(y, dtype=torch.float32)], prediction_length=horizon)
    return out.prediction_outputs[0][:, 0].numpy(), out.quantile_outputs[0][:, :, 0].numpy()


def run(model_name: str, model: Any, req: dict[str, Any]) -> dict[str, Any]:
    horizon, levels, options = req["horizon"], req["quantiles"], req.get("options", {})
    if model_name == FLOWSTATE:
        from tsfm_public.models.flowstate.utils.utils import get_fixed_factor

        scale = options.get("scale_factor") or get_fixed_factor(req["freq"])
        native = list(model.config.quantiles)
    else:
        native = list(model.config.quantile_levels)
    out = []
    for s in req["series"]:
        y = np.asarray(s["target"], dtype=np.float32)
        if "context_length" in options:
            y = y[:, -options["context_length"] :]
        means, qs = [], []
        for row in y:
            if model_name == FLOWSTATE:
                mean, q = _flowstate_one(model, row, horizon, scale)
            else:
                mean, q = _patchtst_fm_one(model, row, horizon)
            means.append(mean)
            qs.append(q)
        q = _pick(native, np.stack(qs, axis=1), levels)  # (levels, C, H)
        out.append({"id": s["id"], "mean": np.stack(means).tolist(), "quantiles": q.tolist()})
    return {"series": out}


def direct_forecast(model_name: str, ckpt: str, req: dict[str, Any]) -> dict[str, Any]:
    return run(model_name, load(model_name, ckpt), req)
