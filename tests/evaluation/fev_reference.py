"""Run inside the fev test environment (just fev-env): fev's own metrics and GluonTS's seasonality.

``python fev_reference.py CASES.npz OUT.json``: CASES holds, per case ``k``, the arrays of one window
as fev's ``Metric.compute`` takes them (``k/y_true`` [N,H,D], ``k/y_pred``, ``k/q_pred`` [N,H,D,Q],
``k/y_past`` [sum T, D], ``k/lengths`` [N], ``k/seasonality``, ``k/levels``) and ``freqs`` (strings).
OUT gets ``{"cases": [{metric: value or null}], "seasonality": {freq: period}}``; non-finite → null.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
import warnings

import numpy as np
from gluonts.time_feature import get_seasonality


def _fev_metrics():  # fev/metrics.py itself; the fev package's __init__ imports datasets, left out of this env
    where = importlib.util.find_spec("fev").submodule_search_locations[0]
    spec = importlib.util.spec_from_file_location("fev_metrics", f"{where}/metrics.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fev_metrics = _fev_metrics()
AVAILABLE_METRICS, get_metric = fev_metrics.AVAILABLE_METRICS, fev_metrics.get_metric

NAMES = ["MASE", "RMSSE", "WQL", "SQL", "MQL", "MAE", "RMSE", "MSE", "WAPE", "MAPE", "SMAPE"]


def main(src: str, dst: str) -> None:
    data = np.load(src, allow_pickle=False)
    n_cases = int(data["n_cases"])
    cases = []
    for k in range(n_cases):
        args = {
            "y_true": data[f"{k}/y_true"], "y_pred": data[f"{k}/y_pred"], "q_pred": data[f"{k}/q_pred"],
            "y_past": data[f"{k}/y_past"], "y_past_lengths": data[f"{k}/lengths"],
            "seasonality": int(data[f"{k}/seasonality"]), "quantile_levels": [float(q) for q in data[f"{k}/levels"]],
        }
        scores = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for name in NAMES:
                assert name in AVAILABLE_METRICS
                value = get_metric(name).compute(**args)
                scores[name] = value if math.isfinite(value) else None
        cases.append(scores)
    seasons = {str(f): int(get_seasonality(str(f))) for f in data["freqs"]}
    with open(dst, "w") as fh:
        json.dump({"cases": cases, "seasonality": seasons}, fh)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
