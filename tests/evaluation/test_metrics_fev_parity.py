"""tollama's numpy metrics equal fev 0.10.0's own code, and its seasonality GluonTS's get_seasonality.

fev runs in its own test environment (``just fev-env``: tests/evaluation/requirements-fev.lock),
never in the gateway's: this test writes the cases to a file, runs tests/evaluation/fev_reference.py
there and compares every metric on random and real data, missing actuals, short histories,
zero seasonal error and multivariate targets.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from tollama import timeaxis
from tollama.evaluation import metrics
from tollama.evaluation.seasonality import seasonality_of

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
FEV_PYTHON = Path(os.environ.get("TOLLAMA_FEV_ENV", ROOT / ".cache" / "fev-env")) / "bin" / "python"
FEV_METRICS = ["MASE", "RMSSE", "WQL", "SQL", "MQL", "MAE", "RMSE", "MSE", "WAPE", "MAPE", "SMAPE"]
N_CASES = 9
FREQS = ["s", "30s", "min", "15min", "h", "2h", "5h", "D", "3D", "B", "W", "W-MON", "MS", "ME", "2ME", "QS", "QE", "YS", "YE"]

pytestmark = pytest.mark.skipif(not FEV_PYTHON.exists(), reason="the fev test environment is missing: `just fev-env`")


def _case(rng: np.random.Generator, n: int, h: int, d: int, lengths: list[int], levels: list[float], m: int, *, scale: float = 10.0, nan_share: float = 0.0, series: list[np.ndarray] | None = None) -> dict[str, np.ndarray]:
    past = series if series is not None else [rng.normal(50, scale, size=(t, d)).cumsum(axis=0) / 10 + 50 for t in lengths]
    last = np.stack([p[-1] for p in past])  # [N, D]
    y_true = last[:, None, :] + rng.normal(0, scale, size=(n, h, d))
    if nan_share:
        y_true[rng.random(y_true.shape) < nan_share] = np.nan
    y_pred = last[:, None, :] + rng.normal(0, scale / 2, size=(n, h, d))
    z = np.sort(rng.normal(0, scale, size=(n, h, d, len(levels))), axis=-1)
    q_pred = y_pred[..., None] + z
    return {
        "y_true": y_true, "y_pred": y_pred, "q_pred": q_pred, "y_past": np.concatenate(past, axis=0),
        "lengths": np.asarray([len(p) for p in past]), "seasonality": np.asarray(m), "levels": np.asarray(levels),
    }


def _cases() -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(7)
    lv = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    from statsmodels.datasets import co2, elnino, sunspots

    co2_values = co2.load_pandas().data["co2"].to_numpy()  # weekly, with NaNs in the history
    spots = sunspots.load_pandas().data["SUNACTIVITY"].to_numpy()
    nino = elnino.load_pandas().data.drop(columns="YEAR").to_numpy().ravel()  # monthly
    real = [co2_values[:800, None], co2_values[800:1500, None], spots[:, None]]
    multi = [np.stack([co2_values[i:i + 400], co2_values[i + 5:i + 405] * 1.1], axis=1) for i in (0, 500, 1000)]
    flat = np.full((30, 1), 3.0)  # zero seasonal error: excluded from the scaled metrics
    return [
        _case(rng, 5, 12, 1, [60] * 5, lv, 12),  # random, equal lengths (fev's fast path)
        _case(rng, 4, 8, 1, [40, 25, 90, 13], [0.1, 0.5, 0.9], 7),  # ragged lengths (bincount path)
        _case(rng, 6, 10, 1, [50, 3, 5, 80, 7, 60], lv, 7, nan_share=0.3),  # short histories + missing actuals
        _case(rng, 3, 24, 1, [], [0.05, 0.5, 0.95], 52, series=real),  # real data, NaN in the co2 history
        _case(rng, 3, 12, 2, [], lv, 52, series=multi, nan_share=0.1),  # multivariate (D = 2)
        _case(rng, 4, 6, 3, [20, 35, 20, 50], [0.25, 0.5, 0.75], 4),  # multivariate, ragged
        _case(rng, 2, 12, 1, [], [0.1, 0.5, 0.9], 12, series=[nino[:500, None], flat]),  # zero seasonal error
        _case(rng, 3, 5, 1, [4, 3, 2], [0.5], 12),  # every history shorter than the season
        _case(rng, 5, 12, 1, [100] * 5, lv, 1, scale=0.01),  # tiny values
    ]


@pytest.fixture(scope="module")
def fev_answers(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, np.ndarray]], dict[str, object]]:
    cases = _cases()
    tmp = tmp_path_factory.mktemp("fev")
    arrays = {f"{k}/{name}": value for k, case in enumerate(cases) for name, value in case.items()}
    np.savez(tmp / "cases.npz", n_cases=np.asarray(len(cases)), freqs=np.asarray(FREQS), **arrays)
    subprocess.run([str(FEV_PYTHON), str(HERE / "fev_reference.py"), str(tmp / "cases.npz"), str(tmp / "out.json")], check=True, timeout=300)
    return cases, json.loads((tmp / "out.json").read_text())


def _ours(case: dict[str, np.ndarray]) -> dict[str, float | None]:
    lengths = case["lengths"]
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    past = [case["y_past"][bounds[i]:bounds[i + 1]] for i in range(len(lengths))]
    w = metrics.WindowArrays(
        y_true=case["y_true"], y_pred=case["y_pred"], q_pred=case["q_pred"], past=past,
        seasonality=[int(case["seasonality"])] * len(lengths), levels=tuple(float(q) for q in case["levels"]),
    )
    return metrics.compute(FEV_METRICS, w)


@pytest.mark.parametrize("k", range(N_CASES))
def test_every_metric_equals_fev(fev_answers: tuple[list[dict[str, np.ndarray]], dict[str, object]], k: int) -> None:
    cases, answers = fev_answers
    theirs = answers["cases"][k]  # type: ignore[index]
    ours = _ours(cases[k])
    assert set(ours) == set(FEV_METRICS)
    for name in FEV_METRICS:
        if theirs[name] is None:
            assert ours[name] is None, (name, ours[name])
        else:
            assert ours[name] is not None, name
            assert math.isclose(ours[name], theirs[name], rel_tol=1e-12, abs_tol=1e-12), (name, ours[name], theirs[name])


def test_cases_exercise_what_they_claim(fev_answers: tuple[list[dict[str, np.ndarray]], dict[str, object]]) -> None:
    cases, answers = fev_answers
    assert len(answers["cases"]) == len(cases) == N_CASES  # type: ignore[arg-type]
    assert any(np.isnan(c["y_true"]).any() for c in cases)
    assert any(c["y_true"].shape[2] > 1 for c in cases)
    assert answers["cases"][7]["MASE"] is None  # type: ignore[index]  # no item has a seasonal error
    assert answers["cases"][6]["MASE"] is not None  # type: ignore[index]  # the flat item is dropped, not the window


def test_seasonality_equals_gluonts(fev_answers: tuple[list[dict[str, np.ndarray]], dict[str, object]]) -> None:
    _, answers = fev_answers
    theirs = answers["seasonality"]
    assert isinstance(theirs, dict)
    for freq in FREQS:
        assert seasonality_of(timeaxis.parse_freq(freq)) == theirs[freq], freq
