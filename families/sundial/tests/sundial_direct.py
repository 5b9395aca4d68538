"""The upstream library called directly, the way its model card shows it, for parity tests.

``run(model, load(model, ckpt_dir), request)``: ``load`` is ``SundialForPrediction.from_pretrained(ckpt_dir)`` and,
for every target row of every series, calls ``torch.manual_seed(seed)`` and then
``model.generate(x (1, T), max_new_tokens=horizon, num_samples=num_samples)``; the mean is the
sample mean and the quantiles are ``numpy.quantile`` over the samples. The request's
``context_length`` option keeps the last that many points. Covariates are not passed: the model
has no input for them. The targets must be NaN-free (the model has no missing-value input).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def load(model: str, ckpt_dir: str) -> Any:
    from sktime.libs.sundial import SundialForPrediction

    return SundialForPrediction.from_pretrained(ckpt_dir)


def run(model: str, net: Any, request: dict[str, Any]) -> dict[str, Any]:
    import torch

    options = request.get("options", {})
    num_samples = int(options.get("num_samples", 20))
    seed = int(options.get("seed", 0))
    context = options.get("context_length")
    horizon = int(request["horizon"])
    levels = [float(q) for q in request["quantiles"]]
    series_out = []
    for series in request["series"]:
        target = np.asarray(series["target"], dtype=np.float32)
        if target.ndim == 1:
            target = target[None, :]
        if context is not None:
            target = target[:, -int(context) :]
        rows = []
        for row in target:
            torch.manual_seed(seed)
            samples = net.generate(torch.tensor(row[None, :]), max_new_tokens=horizon, num_samples=num_samples)
            rows.append(samples[0].numpy())  # (S, H)
        stacked = np.stack(rows, axis=1)  # (S, n_targets, H)
        series_out.append(
            {
                "id": series["id"],
                "mean": stacked.mean(axis=0).tolist(),
                "quantiles": np.quantile(stacked, levels, axis=0).tolist(),
            }
        )
    return {"series": series_out}
