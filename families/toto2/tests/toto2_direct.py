"""The upstream library called directly (``Toto2Model.from_pretrained`` + ``Toto2Model.forecast``), no adapter.

Request: ``{"horizon", "quantiles", "series": [{"id", "target" (n_targets x T)}], "options":
{context_length, decode_block_size}}``. Each series is one call shaped as toto-2's Quick Start shows
(``(1, variates, time)`` with a boolean mask and zero series ids), its context the last
``context_length`` points left-padded with masked zeros to a whole number of patches (the forecast
needs whole patches), its gaps filled with the library's ``ffill_imputation`` and masked, and the
decoding keywords those of the library's own GluonTS predictor (``Toto2GluonTSModelConfig``).
Requested levels must be on the knot grid (0.1, ..., 0.9); the mean is the median; the levels are
sorted at each step, as tollama reports non-crossing quantiles.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np


def load(model: str, ckpt_dir: str) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from toto2 import Toto2Model
    return Toto2Model.from_pretrained(ckpt_dir, map_location="cpu").eval()


def run(model: str, net: Any, request: dict[str, Any]) -> dict[str, Any]:
    import torch
    from toto2 import Toto2GluonTSModelConfig
    from toto2.model import ffill_imputation

    defaults = Toto2GluonTSModelConfig(prediction_length=1, context_length=1, target_dim=1)
    horizon = int(request["horizon"])
    opts = request.get("options", {})
    patch = net.config.patch_size
    levels = [round(float(q), 6) for q in net.output_head.knots]
    picks = [levels.index(round(float(q), 6)) for q in request["quantiles"]]
    out = []
    for s in request["series"]:
        target = np.atleast_2d(np.asarray(s["target"], dtype=np.float32))
        target = target[:, -min(target.shape[1], int(opts.get("context_length", 4096)), 4096):]
        mask = np.isfinite(target)
        values = ffill_imputation(target)
        pad = -target.shape[1] % patch
        values, mask = np.pad(values, ((0, 0), (pad, 0))), np.pad(mask, ((0, 0), (pad, 0)))
        y = torch.from_numpy(values)[None]
        q = net.forecast(
            {"target": y, "target_mask": torch.from_numpy(mask)[None], "series_ids": torch.zeros(1, y.shape[1], dtype=torch.long)},
            horizon,
            decode_block_size=int(opts.get("decode_block_size", 0)),
            has_missing_values=defaults.has_missing_values,
            scaler_fallback_min_obs=defaults.scaler_fallback_min_obs,
            quantile_real_cap_k=defaults.quantile_real_cap_k,
        )[:, 0].numpy()  # (9, variates, horizon)
        out.append({"id": s["id"], "mean": q[levels.index(0.5)].tolist(), "quantiles": np.sort(q[picks], axis=0).tolist()})
    return {"series": out}
