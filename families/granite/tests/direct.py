"""granite-tsfm called directly (its public API, not the adapter) for a JSON forecast request.

Point forecasts: ``TinyTimeMixerForPrediction.from_pretrained(dir, prediction_filter_length=H)``
on each series' last ``context_length`` points (the model pads shorter inputs itself).
Quantiles: ``PostHocProbabilisticProcessor`` trained on the series' last calibration windows,
each forecast by the same model call from the history before it.
Covariates: ``TimeSeriesPreprocessor`` (control = future, conditional = past) +
``TimeSeriesForecastingPipeline`` with channel mixing enabled, new layers seeded by ``seed``.
Inputs are expected without NaNs (impute before calling).
"""

from __future__ import annotations

from typing import Any

import direct_quantile_models
import numpy as np


def _opt(options: dict[str, Any], key: str, default: Any) -> Any:
    return options.get(key, default)


def _point(model, history: np.ndarray, context: int):
    import torch

    x = torch.tensor(history[:, -context:].T[None], dtype=torch.float32)  # (1, t, C)
    with torch.no_grad():
        out = model(past_values=x, past_observed_mask=torch.ones_like(x, dtype=torch.bool))
    return out.prediction_outputs[0].numpy()  # (H, C)


def _quantiles(levels, cal_pred, cal_true, point, score):
    from tsfm_public.toolkit.conformal import PostHocProbabilisticProcessor

    mirrored = sorted({round(q, 10) for q in levels} | {round(1 - q, 10) for q in levels})
    proc = PostHocProbabilisticProcessor(quantiles=mirrored, nonconformity_score=score)
    proc.train(y_cal_gt=cal_true.astype(np.float64), y_cal_pred=cal_pred.astype(np.float64))
    return np.transpose(proc.predict(point[None].astype(np.float64), quantiles=list(levels))[0], (2, 1, 0))


class Loaded:
    """The checkpoint's point-forecast model, loaded once per horizon (``prediction_filter_length``)."""

    def __init__(self, ckpt: str) -> None:
        self.ckpt = ckpt
        self.by_horizon: dict[int, Any] = {}

    def model(self, horizon: int) -> Any:
        from tsfm_public import TinyTimeMixerForPrediction

        if horizon not in self.by_horizon:
            self.by_horizon[horizon] = TinyTimeMixerForPrediction.from_pretrained(
                self.ckpt, prediction_filter_length=horizon
            ).eval()
        return self.by_horizon[horizon]


def _plain(loaded: Loaded, req: dict[str, Any], s: dict[str, Any]) -> dict[str, Any]:
    horizon, levels, options = req["horizon"], req["quantiles"], req.get("options", {})
    model = loaded.model(horizon)
    context = min(_opt(options, "context_length", model.config.context_length), model.config.context_length)
    y = np.asarray(s["target"], dtype=np.float32)
    point = _point(model, y, context)
    length = y.shape[1]
    last = length - horizon
    first = max(
        min(_opt(options, "min_calibration_context", 64), context), last - _opt(options, "calibration_windows", 100) + 1
    )
    origins = list(range(first, last + 1))
    if not origins:  # too little history to calibrate: every quantile is the point forecast
        return {"id": s["id"], "mean": point.T.tolist(), "quantiles": [point.T.tolist()] * len(levels)}
    cal_pred = np.stack([_point(model, y[:, :t], context) for t in origins])
    cal_true = np.stack([y[:, t : t + horizon].T for t in origins])
    q = _quantiles(levels, cal_pred, cal_true, point, _opt(options, "conformal_score", "absolute_error"))
    return {"id": s["id"], "mean": point.T.tolist(), "quantiles": q.tolist()}


def _with_covariates(ckpt: str, req: dict[str, Any], s: dict[str, Any]) -> dict[str, Any]:
    import pandas as pd
    import torch
    from tsfm_public import TimeSeriesForecastingPipeline, TimeSeriesPreprocessor, TinyTimeMixerForPrediction

    horizon, levels, options = req["horizon"], req["quantiles"], req.get("options", {})
    y = np.asarray(s["target"], dtype=np.float32)
    length = y.shape[1]
    targets = [f"target_{i}" for i in range(y.shape[0])]
    fut = s.get("future_covariates", {})
    past = s.get("past_covariates", {})
    control = [f"control_{i}" for i in range(len(fut))]
    conditional = [f"conditional_{i}" for i in range(len(past))]
    frame = {"timestamp": np.arange(length)}
    frame.update({c: y[i] for i, c in enumerate(targets)})
    frame.update({c: np.asarray(fut[k], dtype=np.float32)[:length] for c, k in zip(control, sorted(fut), strict=True)})
    frame.update({c: np.asarray(past[k], dtype=np.float32) for c, k in zip(conditional, sorted(past), strict=True)})
    future = {"timestamp": np.arange(length, length + horizon)}
    future.update({c: np.asarray(fut[k], dtype=np.float32)[length:] for c, k in zip(control, sorted(fut), strict=True)})
    tsp = TimeSeriesPreprocessor(
        timestamp_column="timestamp",
        target_columns=targets,
        control_columns=control,
        conditional_columns=conditional,
        prediction_length=horizon,
        scaling=False,
    )
    df = pd.DataFrame(frame)
    tsp.train(df)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(_opt(options, "seed", 0))
        model = TinyTimeMixerForPrediction.from_pretrained(
            ckpt,
            prediction_filter_length=horizon,
            num_input_channels=tsp.num_input_channels,
            prediction_channel_indices=tsp.prediction_channel_indices,
            exogenous_channel_indices=tsp.exogenous_channel_indices,
            decoder_mode="mix_channel",
            enable_forecast_channel_mixing=True,
            fcm_context_length=1,
            fcm_use_mixer=True,
            fcm_mix_layers=2,
            fcm_prepend_past=True,
        ).eval()
    context = min(_opt(options, "context_length", model.config.context_length), model.config.context_length)
    n_cal = _opt(options, "calibration_windows", 100)
    df = df.iloc[-(context + n_cal + horizon - 1) :]  # only the forecast origins that are used
    pipe = TimeSeriesForecastingPipeline(
        model,
        feature_extractor=tsp,
        prediction_length=horizon,
        context_length=context,
        max_context_length=context,
        device="cpu",
    )
    out = pipe(df, future_time_series=pd.DataFrame(future))  # one row per forecast origin
    pred = np.stack([np.stack(out[f"{c}_prediction"].to_numpy()) for c in targets], axis=-1)
    true = np.stack([np.stack(out[c].to_numpy()) for c in targets], axis=-1)
    # Row r forecasts from origin context + r; rows whose horizon ends inside the history calibrate.
    n_rows = len(out)
    n_cal = min(_opt(options, "calibration_windows", 100), n_rows - horizon)
    cal = slice(n_rows - horizon - n_cal, n_rows - horizon)
    q = _quantiles(levels, pred[cal], true[cal], pred[-1], _opt(options, "conformal_score", "absolute_error"))
    return {"id": s["id"], "mean": pred[-1].T.tolist(), "quantiles": q.tolist()}


def load(model_name: str, ckpt: str) -> Any:
    """Models are loaded on first use, per horizon; the covariate path builds its own each call
    (its new channel-mixing layers are seeded per request). FlowState and PatchTST-FM: see
    direct_quantile_models.py."""
    if model_name in direct_quantile_models.MODELS:
        return direct_quantile_models.load(model_name, ckpt)
    return Loaded(str(ckpt))


def run(model_name: str, loaded: Any, req: dict[str, Any]) -> dict[str, Any]:
    if model_name in direct_quantile_models.MODELS:
        return direct_quantile_models.run(model_name, loaded, req)
    out = []
    for s in req["series"]:
        if s.get("past_covariates") or s.get("future_covariates"):
            out.append(_with_covariates(loaded.ckpt, req, s))
        else:
            out.append(_plain(loaded, req, s))
    return {"series": out}


def direct_forecast(model_name: str, ckpt: str, req: dict[str, Any]) -> dict[str, Any]:
    return run(model_name, load(model_name, ckpt), req)
