"""/api/evaluate through a real server and the real baseline worker, checked against forecasts made one by one.

Each (model, window, series) forecast of the evaluation must equal a plain /api/forecast of the same
cut with its actuals; each window's metrics must equal tollama's numpy metrics (proved equal to fev in
tests/evaluation) over those one-by-one forecasts; seasonal-naive's skill against itself is 0.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import numpy as np
import pytest
from conftest import family_python, tollama_cli, tollama_server
from tollama import timeaxis
from tollama.evaluation import metrics, scoring

MODELS = ["naive", "seasonal-naive", "auto-ets"]
METRICS = ["MASE", "WQL", "SMAPE", "RMSSE", "coverage"]
HORIZON, WINDOWS = 6, 3


def _series() -> list[dict[str, object]]:
    from statsmodels.datasets import elnino, macrodata

    nino = elnino.load_pandas().data.drop(columns="YEAR").to_numpy().ravel()
    macro = macrodata.load_pandas().data
    return [
        {"id": "elnino", "target": [float(v) for v in nino[-120:]], "start": "1991-01-01", "freq": "MS"},
        {"id": "infl", "target": [float(v) for v in macro["infl"].to_numpy()[-80:]], "start": "1989-01-01", "freq": "QS"},
        {"id": "short", "target": [float(v) for v in nino[:20]], "start": "1950-01-01", "freq": "MS"},
    ]


def _same(a: dict[str, float | None], b: dict[str, float | None]) -> None:
    assert set(a) == set(b), (a, b)
    for k, x in a.items():
        y = b[k]
        assert (x is None) == (y is None), (k, x, y)
        if x is not None:
            assert x == pytest.approx(y, rel=1e-6), (k, x, y)


@pytest.mark.slow
def test_evaluate_equals_forecasts_one_by_one(tmp_path: Path) -> None:
    family_python("baseline")
    series = _series()
    levels = [0.1, 0.5, 0.9]
    with tollama_server(tmp_path / "home") as env, httpx.Client(base_url=f"http://127.0.0.1:{env['TOLLAMA_PORT']}", timeout=300) as http:
        resp = http.post("/api/evaluate", json={"models": MODELS, "series": series, "horizon": HORIZON, "windows": WINDOWS,
                                                "metrics": METRICS, "quantiles": levels, "return_forecasts": True})
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert [r["model"] for r in body["leaderboard"]] != [] and {r["model"] for r in body["leaderboard"]} == {f"{m}" for m in MODELS}
        rows = {r["model"]: r for r in body["leaderboard"]}
        assert rows["seasonal-naive"]["skill"] == pytest.approx(0.0)
        assert sorted(r["rank"] for r in rows.values()) == [1, 2, 3]
        # 20 points: the cuts at 2 and 8 are too short for a 12-month season; the worker's refusal drops just them
        assert any("series 'short': windows [0, 1] skipped" in w for w in rows["seasonal-naive"]["warnings"]), rows["seasonal-naive"]["warnings"]
        for result in body["results"]:
            model = result["model"]
            assert [w["window"] for w in result["windows"]] == list(range(WINDOWS))
            per_window = []
            for w in result["windows"]:
                items = []
                for s_res in w["series"]:
                    src = next(s for s in series if s["id"] == s_res["id"])
                    target = src["target"]
                    assert isinstance(target, list)
                    cut = len(target) - HORIZON - (WINDOWS - 1 - w["window"]) * HORIZON
                    freq = timeaxis.parse_freq(str(src["freq"]))
                    assert s_res["cutoff"] == timeaxis.fmt(timeaxis.axis(timeaxis.parse_timestamp(str(src["start"])), freq, cut)[-1], "2000-01-01")
                    one = http.post("/api/forecast", json={"model": model, "horizon": HORIZON, "quantiles": levels, "metrics": METRICS, "series": [
                        {"id": src["id"], "target": target[:cut], "start": src["start"], "freq": src["freq"], "actuals": target[cut:cut + HORIZON]}]})
                    assert one.status_code == 200, one.text
                    f = one.json()["forecasts"][0]
                    np.testing.assert_allclose(s_res["forecast"]["mean"], f["mean"], rtol=1e-6)
                    _same(s_res["metrics"], f["metrics"])
                    items.append(scoring.Item(history=[target[:cut]], actuals=[target[cut:cut + HORIZON]], mean=[f["mean"]],
                                              quantiles=[[f["quantiles"][str(q)]] for q in levels], seasonality={"MS": 12, "QS": 4}[str(src["freq"])]))
                window_metrics = metrics.compute(METRICS, scoring.arrays(items, tuple(levels)))
                _same(w["metrics"], window_metrics)
                per_window.append(window_metrics)
            _same(rows[model]["metrics"], metrics.mean_over_windows(per_window))
        # the short series (20 points) gives its windows; all three series are in every window
        assert all(len(w["series"]) == 3 for w in body["results"][0]["windows"])


@pytest.mark.slow
def test_auto_picks_the_better_baseline_per_series(tmp_path: Path) -> None:
    family_python("baseline")
    import math

    seasonal = [10 + 5 * math.sin(2 * math.pi * t / 12) for t in range(72)]  # seasonal-naive is exact
    trend = [float(t) for t in range(72)]  # naive is off by h; seasonal-naive by 12
    with tollama_server(tmp_path / "home") as env, httpx.Client(base_url=f"http://127.0.0.1:{env['TOLLAMA_PORT']}", timeout=300) as http:
        resp = http.post("/api/forecast", json={
            "model": "auto", "horizon": 6, "freq": "MS", "options": {"candidates": ["naive", "seasonal-naive"], "selection_windows": 2},
            "series": [{"id": "s", "target": seasonal, "start": "2018-01-01"}, {"id": "t", "target": trend, "start": "2018-01-01"}]})
        assert resp.status_code == 200, resp.text
        s, t = resp.json()["forecasts"]
        assert s["model"] == "seasonal-naive:latest" and t["model"] == "naive:latest"
        assert s["scores"]["seasonal-naive"] < s["scores"]["naive"] and t["scores"]["naive"] < t["scores"]["seasonal-naive"]
        direct = http.post("/api/forecast", json={"model": "seasonal-naive", "horizon": 6, "freq": "MS",
                                                  "series": [{"id": "s", "target": seasonal, "start": "2018-01-01"}]}).json()
        assert s["mean"] == direct["forecasts"][0]["mean"]


@pytest.mark.slow
def test_cli_evaluate_and_run_auto(tmp_path: Path) -> None:
    family_python("baseline")
    series = _series()[:2]
    csv_in = tmp_path / "series.csv"
    rows = ["id,timestamp,value"]
    for s in series[:1]:  # monthly elnino, long format with timestamps
        target = s["target"]
        assert isinstance(target, list)
        rows += [f"{s['id']},{1991 + m // 12}-{m % 12 + 1:02d}-01,{v}" for m, v in enumerate(target)]
    csv_in.write_text("\n".join(rows) + "\n")
    with tollama_server(tmp_path / "home") as env:
        out_csv = tmp_path / "results.csv"
        ran = tollama_cli(env, "evaluate", "--input", str(csv_in), "--models", "naive,seasonal-naive", "--horizon", "6", "--windows", "2", "--output", str(out_csv))
        assert ran.returncode == 0, ran.stderr
        assert "seasonal-naive" in ran.stdout and "win rate" in ran.stdout and "MASE" in ran.stdout
        lines = out_csv.read_text().splitlines()
        assert lines[0] == "model,window,series,cutoff,MASE,WQL,SMAPE" and len(lines) == 1 + 2 * 2
        as_json = tollama_cli(env, "evaluate", "--input", str(csv_in), "--models", "naive", "--horizon", "6", "--json")
        assert as_json.returncode == 0, as_json.stderr
        assert json.loads(as_json.stdout)["leaderboard"][0]["model"] == "naive"
        both = ("--input", str(csv_in), "--models", "naive,seasonal-naive", "--horizon", "6", "--windows", "2")
        plotted = tollama_cli(env, "evaluate", *both, "--plot")
        board = json.loads(tollama_cli(env, "evaluate", *both, "--json").stdout)["leaderboard"]
        assert plotted.returncode == 0, plotted.stderr
        bars = {line.split()[0]: line.split()[-1] for line in plotted.stdout.splitlines() if "▇" in line}
        assert bars == {r["model"]: f"{r['metrics']['MASE']:.2f}" for r in board}  # the bars carry the leaderboard's MASE
        bad = tollama_cli(env, "evaluate", "--input", str(csv_in), "--models", "naive", "--horizon", "6", "--windows", "40")
        assert (bad.returncode != 0 and "not_enough_history" in bad.stderr + bad.stdout) or "windows" in bad.stderr
        auto = tollama_cli(env, "run", "auto", "--input", str(csv_in), "--horizon", "3", "--json")
        assert auto.returncode == 0, auto.stderr
        assert json.loads(auto.stdout)["forecasts"][0]["model"] in {f"{m}:latest" for m in ("naive", "seasonal-naive", "auto-ets", "auto-theta")}
