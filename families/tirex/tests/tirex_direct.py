"""The upstream library called directly (``tirex2.load_model`` + ``ForecastModel.forecast``), no adapter.

Request: ``{"horizon", "quantiles", "series": [{"id", "target" (n_targets x T), "past_covariates"
(T values each), "future_covariates" (T + H values each)}], "options": {context_length,
tta_sign_flip, tta_diff}}``, the covariates stacked in name order as TiRex-2's README shows.
Requested levels must be on the model's native grid (0.1, ..., 0.9); the mean is the median. The
levels are then sorted at each step, as tollama reports non-crossing quantiles (a randomly initialised
checkpoint's native quantiles cross).
Runs eagerly (``torch.compiler.set_stance("force_eager")``), as sktime's TiRex-2 wrapper does.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np


def load(model: str, ckpt_dir: str) -> Any:
    import torch

    torch.compiler.set_stance("force_eager")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from tirex2 import load_model
    return load_model(ckpt_dir, device="cpu")


def _stack(columns: dict[str, list[float]], start: int, end: int) -> Any:
    """The named covariates in name order as one ``(V, end - start)`` tensor, or None."""
    import torch

    if not columns:
        return None
    return torch.tensor(np.stack([np.asarray(columns[k], dtype=np.float32)[start:end] for k in sorted(columns)]))


def run(model: str, forecaster: Any, request: dict[str, Any]) -> dict[str, Any]:
    import torch
    from tirex2 import TimeseriesType

    horizon = int(request["horizon"])
    opts = request.get("options", {})
    levels = [round(float(q), 6) for q in forecaster.model.quantiles]
    picks = [levels.index(round(float(q), 6)) for q in request["quantiles"]]
    kwargs = {k: bool(opts[k]) for k in ("tta_sign_flip", "tta_diff") if k in opts}
    inputs = []
    for s in request["series"]:
        target = np.atleast_2d(np.asarray(s["target"], dtype=np.float32))
        length = target.shape[1]
        start = length - min(length, int(opts.get("context_length", length)))
        past, future = s.get("past_covariates", {}), s.get("future_covariates", {})
        inputs.append(TimeseriesType(target=torch.tensor(target[:, start:]),
                                     past_covariates=_stack(past, start, length),
                                     future_covariates=_stack(future, start, length + horizon)))
    forecasts = forecaster.forecast(inputs, prediction_length=horizon, output_type="numpy", **kwargs)
    out = []
    for s, f in zip(request["series"], forecasts, strict=True):  # f: (n_targets, 9, horizon)
        out.append({"id": s["id"], "mean": f[:, levels.index(0.5)].tolist(), "quantiles": np.sort(f[:, picks], axis=1).transpose(1, 0, 2).tolist()})
    return {"series": out}
