"""The metrics fev lacks (coverage, MSIS), names, and window aggregation; fev's own are proved in tests/evaluation."""

from __future__ import annotations

import numpy as np
import pytest
from tollama.evaluation import metrics


def _window(y_true: list[float], lo: list[float], hi: list[float], past: list[float], m: int = 1) -> metrics.WindowArrays:
    y = np.asarray(y_true, dtype=float)[None, :, None]
    q = np.stack([np.asarray(lo, dtype=float), (np.asarray(lo) + np.asarray(hi)) / 2, np.asarray(hi, dtype=float)], axis=-1)[None, :, None, :]
    return metrics.WindowArrays(y_true=y, y_pred=q[..., 1], q_pred=q, past=[np.asarray(past, dtype=float)[:, None]], seasonality=[m], levels=(0.1, 0.5, 0.9))


def test_coverage_counts_observed_values_inside_the_interval() -> None:
    w = _window([1.0, 5.0, float("nan"), 3.0], lo=[0, 0, 0, 0], hi=[2, 2, 2, 4], past=[0, 1, 2])
    # inside: 1 (yes), 5 (no), nan (ignored), 3 (yes) -> 2 of 3
    assert metrics.compute(["coverage"], w) == {"coverage[0.8]": pytest.approx(2 / 3)}


def test_msis_is_the_m4_interval_score_scaled_by_the_seasonal_error() -> None:
    # alpha = 0.2 (pair 0.1/0.9); past diffs |1|,|2| -> seasonal error 1.5
    w = _window([1.0, 5.0, -1.0], lo=[0, 0, 0], hi=[2, 2, 2], past=[0, 1, 3])
    widths = 2 + 2 + 2
    penalties = (2 / 0.2) * (5 - 2) + (2 / 0.2) * (0 - -1)
    assert metrics.compute(["msis"], w)["MSIS"] == pytest.approx((widths + penalties) / 3 / 1.5)


def test_names_are_case_insensitive_and_spelled_as_fev_does() -> None:
    assert metrics.check(["mase", "WQL", "sMape", "Coverage", "mase"], (0.1, 0.5, 0.9)) == ["MASE", "WQL", "SMAPE", "coverage"]
    with pytest.raises(metrics.MetricError, match="unknown metric 'CRPS'"):
        metrics.check(["CRPS"], (0.5,))
    with pytest.raises(metrics.MetricError, match=r"\$.metrics\[0\]: MSIS needs a symmetric pair"):
        metrics.check(["MSIS"], (0.5,))


def test_undefined_values_are_none_and_windows_average() -> None:
    w = _window([float("nan")] * 2, lo=[0, 0], hi=[1, 1], past=[1.0])
    assert metrics.compute(["MAE", "MASE"], w) == {"MAE": None, "MASE": None}
    assert metrics.mean_over_windows([{"MAE": 1.0, "WQL": None}, {"MAE": 2.0, "WQL": 0.5}]) == {"MAE": 1.5, "WQL": None}
