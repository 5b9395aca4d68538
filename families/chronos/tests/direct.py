"""chronos-forecasting called DIRECTLY (its own public API, not the tollama adapter).

``run(model, load(model, ckpt_dir), request)`` answers a request of the shape::

    {"horizon": H, "quantiles": [...],
     "series": [{"id": "..", "target": [[...]] (n_targets x T),
                 "past_covariates": {name: [...]}, "future_covariates": {name: [... T+H ...]}}],
     "options": {"context_length": N, "num_samples": S, "seed": K}}

with ``{"series": [{"id", "mean": (n_targets x H), "quantiles": (n_levels x n_targets x H)}]}``.
This is what a user of the library would write: ``BaseChronosPipeline.from_pretrained`` and
``predict_quantiles``. The request's context is the last ``context_length`` points. T5 sampling
is seeded with ``torch.manual_seed(seed)`` before each series (the adapter's documented scheme);
Chronos-Bolt is deterministic: every row of every series goes to one ``predict_quantiles`` call.
Chronos (T5) and Chronos-Bolt take no covariates, so they are not passed to them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from checkpoints import kind_of  # type: ignore[import-not-found]


def _covariate(values: list[Any]) -> np.ndarray:
    arr = np.asarray(values)
    return arr if arr.dtype.kind in "USO" else arr.astype(np.float32)


def load(model: str, ckpt_dir: str) -> Any:
    import torch
    from chronos import BaseChronosPipeline

    return BaseChronosPipeline.from_pretrained(ckpt_dir, device_map="cpu", dtype=torch.float32)


def run(model: str, pipeline: Any, request: dict[str, Any]) -> dict[str, Any]:
    import torch

    kind = kind_of(model)
    horizon = int(request["horizon"])
    levels = [float(q) for q in request["quantiles"]]
    options = request.get("options", {})
    context = int(options.get("context_length", pipeline.model_context_length))
    if kind == "bolt":  # deterministic: every row of every series in one call, as the library batches
        rows = [torch.from_numpy(np.asarray(r, dtype=np.float32)[-context:]) for s in request["series"] for r in s["target"]]
        qt, mt = pipeline.predict_quantiles(rows, prediction_length=horizon, quantile_levels=levels)
        q_all, mean_all = qt.numpy(), mt.numpy()
        out, at = [], 0
        for s in request["series"]:
            n = len(s["target"])
            q, mean = q_all[at : at + n], mean_all[at : at + n]
            at += n
            out.append({"id": s["id"], "mean": mean.tolist(), "quantiles": np.moveaxis(q, -1, 0).tolist()})
        return {"series": out}
    out = []
    for s in request["series"]:
        target = np.asarray(s["target"], dtype=np.float32)
        length = target.shape[1]
        start = max(0, length - context)
        if kind == "chronos2":
            item: dict[str, Any] = {"target": target[:, start:]}
            past = {k: _covariate(v)[start:] for k, v in s.get("past_covariates", {}).items()}
            future = {}
            for k, v in s.get("future_covariates", {}).items():
                arr = _covariate(v)
                past[k] = arr[start:length]
                future[k] = arr[length:]
            if past:
                item["past_covariates"] = past
            if future:
                item["future_covariates"] = future
            q_list, mean_list = pipeline.predict_quantiles([item], prediction_length=horizon, quantile_levels=levels)
            q, mean = q_list[0].numpy(), mean_list[0].numpy()  # (n_targets, H, L), (n_targets, H)
        else:
            seed = int(options.get("seed", 0))
            num_samples = int(options.get("num_samples", 20))
            qs, means = [], []
            for i in range(target.shape[0]):
                torch.manual_seed(seed)
                qt, mt = pipeline.predict_quantiles(
                    [torch.from_numpy(target[i, start:])],
                    prediction_length=horizon,
                    quantile_levels=levels,
                    num_samples=num_samples,
                )
                qs.append(qt.numpy()[0])
                means.append(mt.numpy()[0])
            q, mean = np.stack(qs), np.stack(means)
        out.append({"id": s["id"], "mean": mean.tolist(), "quantiles": np.moveaxis(q, -1, 0).tolist()})
    return {"series": out}
