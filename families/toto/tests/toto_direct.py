"""The upstream library called directly (``Toto.load_from_checkpoint`` + ``TotoForecaster``), no adapter.

Request: ``{"horizon", "quantiles", "series": [{"id", "target" (n_targets x T), "past_covariates",
"future_covariates" (T + H values each)}], "options": {num_samples, samples_per_batch, seed,
context_length}}``. Variates go in the order the Toto README prescribes: targets, then past-only
covariates, then the known-future ("exogenous") covariates last, with their horizon values passed
as ``future_exogenous_variables``. The RNG is seeded with ``torch.manual_seed(seed)`` right before
each series' ``forecast`` call. Series must have no NaN.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np


def load(model: str, ckpt_dir: str) -> Any:
    """``TotoForecaster`` over the strictly loaded checkpoint."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from toto.inference.forecaster import TotoForecaster
        from toto.model.toto import Toto

    return TotoForecaster(Toto.load_from_checkpoint(ckpt_dir, map_location="cpu").model)


def run(model: str, forecaster: Any, request: dict[str, Any]) -> dict[str, Any]:
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from toto.data.util.dataset import MaskedTimeseries

    horizon = int(request["horizon"])
    levels = [float(q) for q in request["quantiles"]]
    opts = request.get("options", {})
    num_samples = int(opts.get("num_samples", 256))
    samples_per_batch = int(opts.get("samples_per_batch", num_samples or 1))
    seed = int(opts.get("seed", 0))
    context = min(int(opts.get("context_length", 4096)), 4096)

    out = []
    for s in request["series"]:
        target = np.atleast_2d(np.asarray(s["target"], dtype=np.float32))
        n_targets, length = target.shape
        start = max(0, length - context)
        past = s.get("past_covariates", {})
        future = s.get("future_covariates", {})
        rows = [target[:, start:]]
        rows += [np.asarray(past[k], dtype=np.float32)[None, start:length] for k in sorted(past)]
        rows += [np.asarray(future[k], dtype=np.float32)[None, start:length] for k in sorted(future)]
        values = torch.from_numpy(np.concatenate(rows))[None]  # (1, variates, time)
        known = None
        if future:
            known = torch.from_numpy(
                np.stack([np.asarray(future[k], dtype=np.float32)[length : length + horizon] for k in sorted(future)])
            )[None]
        inputs = MaskedTimeseries(
            series=values,
            padding_mask=torch.ones_like(values, dtype=torch.bool),
            id_mask=torch.zeros_like(values, dtype=torch.int),
            timestamp_seconds=torch.zeros_like(values, dtype=torch.int),
            time_interval_seconds=torch.ones(values.shape[:2], dtype=torch.int),
            num_exogenous_variables=len(future),
        )
        torch.manual_seed(seed)
        forecast = forecaster.forecast(
            inputs,
            prediction_length=horizon,
            num_samples=num_samples or None,
            samples_per_batch=samples_per_batch,
            use_kv_cache=True,
            future_exogenous_variables=known,
        )
        mean = forecast.mean[0, :n_targets]
        if num_samples:
            quantiles = [forecast.quantile(q)[0, :n_targets].tolist() for q in levels]
        else:
            quantiles = [mean.tolist() for _ in levels]
        out.append({"id": s["id"], "mean": mean.tolist(), "quantiles": quantiles})
    return {"series": out}
