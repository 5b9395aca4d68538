"""Quantiles for a point-forecast model: split conformal calibration on the series' own history.

TinyTimeMixer r2 forecasts a point (its MSE-trained mean). granite-tsfm turns point forecasts
into quantiles post hoc with ``PostHocProbabilisticProcessor``: it is trained on pairs of
(forecast, actual) over calibration windows and widens the point forecast per horizon step
and channel by the empirical quantile of the nonconformity scores. Here the calibration
windows are the last forecast origins of the series itself (each one forecast from the
history before it and compared with the ``horizon`` values that followed).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

SCORES = ("absolute_error", "error")


def _mirrored(levels: Sequence[float]) -> list[float]:
    """Levels plus their mirror images, so that the processor's error rate covers both tails."""
    out = {round(q, 10) for q in levels} | {round(1.0 - q, 10) for q in levels}
    return sorted(out) or [0.5]


def required_windows(levels: Sequence[float], score: str) -> int:
    """How many calibration windows the processor needs for the most extreme level."""
    tail = min(_mirrored(levels))
    if tail >= 0.5:
        return 1
    need = math.ceil(round(1.0 / (2.0 * tail), 9))
    return 2 * need if score == "error" else need


def conformal_quantiles(
    cal_pred: np.ndarray, cal_true: np.ndarray, point: np.ndarray, levels: Sequence[float], score: str
) -> np.ndarray:
    """Quantiles ``(len(levels), C, H)`` around ``point`` ``(H, C)``.

    ``cal_pred``/``cal_true`` are ``(N, H, C)`` forecasts and actuals on the calibration windows.
    """
    from tsfm_public.toolkit.conformal import PostHocProbabilisticProcessor

    processor = PostHocProbabilisticProcessor(quantiles=_mirrored(levels), nonconformity_score=score)
    processor.train(y_cal_gt=cal_true.astype(np.float64), y_cal_pred=cal_pred.astype(np.float64))
    out = processor.predict(point[None].astype(np.float64), quantiles=list(levels))  # (1, H, C, Q)
    return np.transpose(out[0], (2, 1, 0)).astype(np.float32)
