"""Covariates through granite-tsfm's own tabular path.

Known-future numeric covariates become *control* columns and past-only ones *conditional*
columns of a ``TimeSeriesPreprocessor``; a ``TimeSeriesForecastingPipeline`` builds the
windows (conditional columns are masked over the horizon) and runs a TinyTimeMixer loaded
with forecast-channel mixing enabled (``decoder_mode="mix_channel"``,
``enable_forecast_channel_mixing=True``), as in the library's exogenous tutorial.

The pretrained r2 checkpoints do not contain the channel-mixing layers: they are freshly
initialised at load (seeded here, so forecasts are reproducible) and would need fine-tuning
to use the covariates well. Callers are told so in a warning.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

EXOGENOUS_WARNING = (
    "granite: covariates are fed through TinyTimeMixer's forecast-channel-mixing head, which the "
    "pretrained r2 checkpoints do not contain; it is randomly initialised (seeded by option 'seed') "
    "and needs fine-tuning before covariates improve the forecast"
)


@dataclass(frozen=True)
class Layout:
    """What an exogenous model depends on: the channel counts and the horizon it is built for."""

    n_targets: int
    n_control: int
    n_conditional: int
    horizon: int
    seed: int


def column_names(layout: Layout) -> tuple[list[str], list[str], list[str]]:
    targets = [f"target_{i}" for i in range(layout.n_targets)]
    control = [f"control_{i}" for i in range(layout.n_control)]
    conditional = [f"conditional_{i}" for i in range(layout.n_conditional)]
    return targets, control, conditional


def preprocessor(layout: Layout, context_length: int, freq: str | None):
    from tsfm_public import TimeSeriesPreprocessor

    targets, control, conditional = column_names(layout)
    return TimeSeriesPreprocessor(
        timestamp_column="timestamp",
        target_columns=targets,
        control_columns=control,
        conditional_columns=conditional,
        context_length=context_length,
        prediction_length=layout.horizon,
        scaling=False,
        freq=freq,
    )


def load_exogenous_model(path: str, layout: Layout, context_length: int, device: str):
    """The checkpoint with channel mixing enabled for ``layout`` (new layers seeded by ``layout.seed``)."""
    from tsfm_public import TinyTimeMixerForPrediction

    tsp = preprocessor(layout, context_length, None)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(layout.seed)
        model = TinyTimeMixerForPrediction.from_pretrained(
            path,
            prediction_filter_length=layout.horizon,
            num_input_channels=tsp.num_input_channels,
            prediction_channel_indices=tsp.prediction_channel_indices,
            exogenous_channel_indices=tsp.exogenous_channel_indices,
            decoder_mode="mix_channel",
            enable_forecast_channel_mixing=True,
            fcm_context_length=1,
            fcm_use_mixer=True,
            fcm_mix_layers=2,
            fcm_prepend_past=True,
        )
    return model.to(device).eval()


def frames(
    layout: Layout, target: np.ndarray, control: list[np.ndarray], conditional: list[np.ndarray], keep: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """History (the last ``keep`` points) and future frames; target is (C, T), control length T+H."""
    targets, control_cols, conditional_cols = column_names(layout)
    length = target.shape[1]
    horizon = layout.horizon
    start = max(0, length - keep)
    history = {"timestamp": np.arange(start, length)}
    for name, row in zip(targets, target, strict=True):
        history[name] = row[start:]
    for name, row in zip(control_cols, control, strict=True):
        history[name] = row[start:length]
    for name, row in zip(conditional_cols, conditional, strict=True):
        history[name] = row[start:]
    future = {"timestamp": np.arange(length, length + horizon)}
    for name, row in zip(control_cols, control, strict=True):
        future[name] = row[length : length + horizon]
    return pd.DataFrame(history), pd.DataFrame(future)


def run_pipeline(
    model,
    layout: Layout,
    history: pd.DataFrame,
    future: pd.DataFrame,
    context_length: int,
    device: str,
    freq: str | None,
    batch_size: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Forecasts ``(R, H, C)`` and actuals ``(R, H, C)`` for every window origin the pipeline builds.

    Row ``r`` forecasts from origin ``context_length + r`` of ``history``; the last row is the
    forecast past the end of the history (its actuals are NaN). Each window holds at most
    ``context_length`` points (the model left-pads shorter ones as unobserved).
    """
    from tsfm_public import TimeSeriesForecastingPipeline

    tsp = preprocessor(layout, context_length, freq)
    tsp.train(history)
    pipe = TimeSeriesForecastingPipeline(
        model,
        feature_extractor=tsp,
        prediction_length=layout.horizon,
        context_length=context_length,
        max_context_length=context_length,
        device=device,
        batch_size=batch_size,
    )
    with warnings.catch_warnings():
        # granite-tsfm 0.3.11 pads short frames with a pandas call that pandas 3 deprecates.
        warnings.filterwarnings("ignore", message="The copy keyword is deprecated")
        out = pipe(history, future_time_series=future.copy())
    targets, _, _ = column_names(layout)
    pred = np.stack([np.stack(out[f"{c}_prediction"].to_numpy()) for c in targets], axis=-1)
    true = np.stack([np.stack(out[c].to_numpy()) for c in targets], axis=-1)
    return pred.astype(np.float32), true.astype(np.float32)
