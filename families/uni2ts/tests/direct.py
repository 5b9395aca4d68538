"""The upstream library called directly, for parity tests: uni2ts' own GluonTS predictor.

This deliberately does NOT use the adapter or its tensor path: it goes through
``MoiraiForecast``/``Moirai2Forecast.create_predictor(...)`` and a GluonTS ``ListDataset``,
the way uni2ts' README forecasts (gluonts 0.14.x, as uni2ts pins). Where tollama's request
semantics differ from uni2ts' own, the translation is spelled out here:

* ``options.context_length`` in tollama is the total look-back: the last
  ``min(T, context_length)`` points are all the model sees. uni2ts' own ``context_length``
  excludes the extra ``prediction_length`` points that ``patch_size="auto"`` holds out to
  pick a patch size, so the series is cut to the look-back first and uni2ts gets
  ``context_length = len(cut series)``.
* Moirai 1.x samples: every series is predicted on its own after ``torch.manual_seed(seed)``
  so that its samples do not depend on the other series of the request.
* Moirai 1.x quantiles are numpy's (linear) sample quantiles of the predictor's samples.
* Moirai 2.0 has no mean: the point forecast is the 0.5 quantile. Its quantiles are
  returned as the network gives them (a random network may cross them; the adapter sorts).

Request / response JSON: see ``fixtures_cli.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

# The defaults the adapter documents (docs/families/uni2ts.md), used when a request omits them.
DEFAULT_CONTEXT = {"moirai-1": 1024, "moirai-2": 1680}
DEFAULT_NUM_SAMPLES = 100
DEFAULT_SEED = 0


def _kind(model: str) -> str:
    return "moirai-2" if model.startswith("moirai-2") else "moirai-1"


def _floats(values: Any) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float32)


def _entry(series: dict[str, Any], context: int, horizon: int) -> dict[str, Any]:
    target = np.stack([_floats(row) for row in series["target"]])
    length = target.shape[1]
    window = min(length, context)
    entry: dict[str, Any] = {"start": pd.Period("2000-01-01", freq="D"), "target": target[:, length - window :]}
    future = series.get("future_covariates") or {}
    past = series.get("past_covariates") or {}
    if future:
        entry["feat_dynamic_real"] = np.stack([_floats(v)[length - window :] for v in future.values()])
    if past:
        entry["past_feat_dynamic_real"] = np.stack([_floats(v)[length - window :] for v in past.values()])
    entry["_dims"] = (target.shape[0], len(future), len(past), window)
    return entry


def load(model: str, ckpt_dir: str) -> Any:
    """The module through uni2ts' own ``from_pretrained`` (strict)."""
    if _kind(model) == "moirai-1":
        from uni2ts.model.moirai import MoiraiModule

        return MoiraiModule.from_pretrained(ckpt_dir, strict=True)
    from uni2ts.model.moirai2 import Moirai2Module

    return Moirai2Module.from_pretrained(ckpt_dir, strict=True)


def forecast(model: str, module: Any, request: dict[str, Any]) -> dict[str, Any]:
    """Run ``request`` through uni2ts' GluonTS predictor; return the response dict."""
    from gluonts.dataset.common import ListDataset
    from uni2ts.model.moirai import MoiraiForecast
    from uni2ts.model.moirai2 import Moirai2Forecast

    kind = _kind(model)
    horizon = int(request["horizon"])
    levels = [float(q) for q in request["quantiles"]]
    options = request.get("options") or {}
    context = int(options.get("context_length", DEFAULT_CONTEXT[kind]))
    out = []
    for series in request["series"]:
        entry = _entry(series, context, horizon)
        n_targets, n_future, n_past, window = entry.pop("_dims")
        if n_targets == 1:
            entry["target"] = entry["target"][0]
        dims = {
            "prediction_length": horizon,
            "context_length": window,
            "target_dim": n_targets,
            "feat_dynamic_real_dim": n_future,
            "past_feat_dynamic_real_dim": n_past,
        }
        if kind == "moirai-1":
            net = MoiraiForecast(
                module=module,
                patch_size=options.get("patch_size", "auto"),
                num_samples=int(options.get("num_samples", DEFAULT_NUM_SAMPLES)),
                **dims,
            )
        else:
            net = Moirai2Forecast(module=module, **dims)
        predictor = net.create_predictor(batch_size=1, device="cpu")
        dataset = ListDataset([entry], freq="D", one_dim_target=n_targets == 1)
        torch.manual_seed(int(options.get("seed", DEFAULT_SEED)))
        (fc,) = list(predictor.predict(dataset))
        if kind == "moirai-1":
            # SampleForecast.quantile takes the nearest-rank sample; tollama's convention (and
            # numpy's default) interpolates linearly between order statistics.
            mean = fc.mean
            quantiles = np.quantile(fc.samples, levels, axis=0)
        else:
            mean = fc.quantile(0.5)
            quantiles = np.stack([fc.quantile(q) for q in levels])
        # GluonTS gives (H,) or (H, V); the response is target-major: (V, H) and (Q, V, H).
        mean = np.asarray(mean, dtype=np.float64).reshape(horizon, n_targets).T
        quantiles = np.asarray(quantiles, dtype=np.float64).reshape(len(levels), horizon, n_targets).transpose(0, 2, 1)
        out.append({"id": series["id"], "mean": mean.tolist(), "quantiles": quantiles.tolist()})
    return {"series": out}
