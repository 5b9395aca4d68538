"""Forecasts with actuals and /api/evaluate over the in-process fake (last value; quantiles last ± (q − 0.5)).

Expected numbers are worked out by hand from that forecast, not by the code under test.
"""

from __future__ import annotations

from typing import Any

import pytest
from fakes import InProcessRuntime
from litestar.testing import TestClient

MODEL = "chronos-bolt-tiny"


def _forecast(client: TestClient[Any], **body: Any) -> Any:
    return client.post("/api/forecast", json={"model": MODEL, "horizon": 3, "quantiles": [0.1, 0.5, 0.9], **body})


def test_forecast_with_actuals_scores_each_series_and_all_together(client: TestClient[Any]) -> None:
    resp = _forecast(client, metrics=["mae", "MASE", "wql"], series=[
        {"id": "a", "target": [1, 2, 3, 4], "actuals": [5, None, 7]},
        {"id": "b", "target": [10, 20, 12], "actuals": [16]},
    ])
    assert resp.status_code == 200, resp.text
    body = resp.json()
    a, b = body["forecasts"]
    # a: forecast 4; errors 1 and 3; seasonal error (m = 1) 1; WQL by hand = 0.29777...
    assert a["metrics"] == pytest.approx({"MAE": 2.0, "MASE": 2.0, "WQL": (0.08 + 1 / 3 + 0.48) / 3})
    # b: forecast 12; error 4 on one step; seasonal error (10 + 8) / 2 = 9
    assert b["metrics"]["MASE"] == pytest.approx(4 / 9)
    # all together over the 3 observed entries (fev's one-window aggregation), not the mean of the two
    assert body["metrics"]["MAE"] == pytest.approx((1 + 3 + 4) / 3)
    assert body["metrics"]["MASE"] == pytest.approx((1 + 3 + 4 / 9) / 3)


def test_default_metrics_and_seasonality_from_the_series_frequency(client: TestClient[Any]) -> None:
    # quarterly: season 4; history diffs at lag 4 are all 4 -> seasonal error 4; forecast 8, actual 12 -> MASE 1
    body = _forecast(client, series=[{"target": [1, 2, 3, 4, 5, 6, 7, 8], "start": "2020-01-01", "freq": "QS", "actuals": [12]}]).json()
    assert set(body["forecasts"][0]["metrics"]) == {"MASE", "WQL"}
    assert body["forecasts"][0]["metrics"]["MASE"] == pytest.approx(1.0)
    assert body["forecasts"][0]["timestamps"] == ["2022-01-01", "2022-04-01", "2022-07-01"]
    override = _forecast(client, options={"seasonality": 1}, series=[{"target": [1, 2, 3, 4, 5, 6, 7, 8], "actuals": [12]}]).json()
    assert override["forecasts"][0]["metrics"]["MASE"] == pytest.approx(4.0)


def test_no_actuals_no_metrics(client: TestClient[Any]) -> None:
    body = _forecast(client, series=[[1, 2, 3]]).json()
    assert "metrics" not in body and "metrics" not in body["forecasts"][0]


@pytest.mark.parametrize(("series", "extra", "path", "limit", "value"), [
    ({"target": [1, 2, 3], "actuals": [1, 2, 3, 4]}, {}, "$.series[0].actuals", 3, 4),
    ({"target": [[1, 2], [3, 4]], "actuals": [1, 2]}, {}, "$.series[0].actuals", 2, 2),
    ({"target": [[1, 2], [3, 4]], "actuals": [[1], [2, 3, 4, 5]]}, {}, "$.series[0].actuals[1]", 3, 4),
    ({"target": [1, 2, 3], "actuals": [1]}, {"metrics": ["CRPS"]}, "$.metrics[0]", None, "CRPS"),
    ({"target": [1, 2, 3], "freq": "fortnightly", "start": "2020-01-01"}, {}, "$.series[0].freq", None, "fortnightly"),
])
def test_bad_actuals_metrics_and_freq_are_400_with_the_path(client: TestClient[Any], series: dict[str, Any], extra: dict[str, Any], path: str, limit: Any, value: Any) -> None:
    resp = _forecast(client, series=[series], **extra)
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["code"] == "invalid_value" and body["path"] == path and body["value"] == value
    if limit is not None:
        assert body["limit"] == limit


def test_series_of_different_frequencies_in_one_request(client: TestClient[Any]) -> None:
    body = _forecast(client, freq="MS", series=[
        {"id": "y", "target": [1, 2, 3], "start": "2020-01-01", "freq": "YS"},
        {"id": "m", "target": [1, 2, 3], "start": "2020-01-01"},
    ]).json()
    assert body["forecasts"][0]["timestamps"] == ["2023-01-01", "2024-01-01", "2025-01-01"]
    assert body["forecasts"][1]["timestamps"] == ["2020-04-01", "2020-05-01", "2020-06-01"]


SERIES = [{"id": "a", "target": [1, 2, 3, 4, 5, 6, 7, 9], "timestamps": [f"2024-0{m}-01" for m in range(1, 9)]},
          {"id": "b", "target": [5, 4, 6, 5, 7, 6]}]


def test_evaluate_windows_end_at_the_end_and_match_forecasts_one_by_one(client: TestClient[Any], runtime: InProcessRuntime) -> None:
    resp = client.post("/api/evaluate", json={"models": [MODEL, "chronos-2"], "series": SERIES, "horizon": 2, "windows": 2,
                                              "quantiles": [0.1, 0.5, 0.9], "metrics": ["MAE", "MASE", "coverage"], "return_forecasts": True})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["metrics"] == ["MAE", "MASE", "coverage"]
    assert runtime.adapter.calls == [4, 4]  # per model, all windows of all series in one worker call
    first = body["results"][0]
    assert [w["window"] for w in first["windows"]] == [0, 1]
    # window k of 2 cuts at len - 2 - (1 - k) * 2: a at 4 and 6, b at 2 and 4
    w0, w1 = first["windows"]
    assert [(s["id"], s["cutoff"]) for s in w0["series"]] == [("a", "2024-04-01"), ("b", 2)]
    assert [(s["id"], s["cutoff"]) for s in w1["series"]] == [("a", "2024-06-01"), ("b", 4)]
    # each window equals a forecast with actuals of the same cuts, all series together
    for k, cut_a, cut_b in ((0, 4, 2), (1, 6, 4)):
        one = _forecast(client, horizon=2, metrics=["MAE", "MASE", "coverage"], series=[
            {"id": "a", "target": SERIES[0]["target"][:cut_a], "timestamps": SERIES[0]["timestamps"][:cut_a], "actuals": SERIES[0]["target"][cut_a:cut_a + 2]},
            {"id": "b", "target": SERIES[1]["target"][:cut_b], "actuals": SERIES[1]["target"][cut_b:cut_b + 2]},
        ]).json()
        assert first["windows"][k]["metrics"] == pytest.approx(one["metrics"])
        assert first["windows"][k]["series"][0]["forecast"]["mean"] == one["forecasts"][0]["mean"]
    # window 0 by hand: a forecasts 4 for [5, 6] (MAE 1.5), b forecasts 4 for [6, 5] (MAE 1.5)
    assert w0["metrics"]["MAE"] == pytest.approx(1.5)
    rows = body["leaderboard"]
    assert [r["rank"] for r in rows] == [1, 1]  # the fake forecasts the same for both models: a tie
    assert rows[0]["win_rate"] == 0.5 and rows[0]["skill"] is None
    assert rows[0]["metrics"]["MAE"] == pytest.approx((w0["metrics"]["MAE"] + w1["metrics"]["MAE"]) / 2)


def test_evaluate_refuses_more_windows_than_any_series_gives(client: TestClient[Any]) -> None:
    resp = client.post("/api/evaluate", json={"models": [MODEL], "series": SERIES, "horizon": 2, "windows": 4})
    assert resp.status_code == 400
    body = resp.json()
    assert body["code"] == "not_enough_history" and body["path"] == "$.windows" and body["limit"] == 3 and body["value"] == 4


def test_evaluate_skips_short_series_windows_with_a_warning_and_streams(client: TestClient[Any]) -> None:
    resp = client.post("/api/evaluate", json={"models": [MODEL], "series": SERIES, "horizon": 2, "windows": 3, "stream": True})
    assert resp.status_code == 200
    import json

    events = [json.loads(line) for line in resp.text.splitlines()]
    assert [e["status"] for e in events] == ["evaluating"] * 3 + ["done"]
    assert [e["completed"] for e in events[:3]] == [1, 2, 3] and events[0]["total"] == 3
    done = events[-1]["response"]
    assert any("$.series[1]: 6 points give 2 of the 3 windows" in w for w in done["warnings"])
    assert [len(w["series"]) for w in done["results"][0]["windows"]] == [1, 2, 2]


def test_evaluate_unknown_model_and_rank_metric(client: TestClient[Any]) -> None:
    assert client.post("/api/evaluate", json={"models": ["nope"], "series": SERIES, "horizon": 2}).json()["code"] == "model_not_found"
    resp = client.post("/api/evaluate", json={"models": [MODEL], "series": SERIES, "horizon": 2, "metrics": ["coverage", "MAE"]})
    assert resp.status_code == 400 and resp.json()["path"] == "$.metrics[0]"


def test_auto_chooses_per_series_caches_and_falls_back(client: TestClient[Any], runtime: InProcessRuntime) -> None:
    body = {"model": "auto", "horizon": 2, "options": {"candidates": [MODEL, "chronos-2"]},
            "series": [{"id": "long", "target": [1, 2, 3, 4, 5, 6]}, {"id": "tiny", "target": [1, 2]}]}
    resp = client.post("/api/forecast", json=body)
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert out["model"] == "auto"
    long, tiny = out["forecasts"]
    assert long["model"] == f"{MODEL}:latest" and set(long["scores"]) == {MODEL, "chronos-2"}
    assert long["mean"] == [6.0, 6.0]
    assert tiny["model"] == f"{MODEL}:latest" and tiny["scores"] == {}  # the fallback, with no scores
    assert any("$.series[1]: too short to backtest; served by the fallback" in w for w in out["warnings"])
    calls = len(runtime.adapter.calls)
    again = client.post("/api/forecast", json={**body, "series": [body["series"][0]]}).json()
    assert again["forecasts"][0]["scores"] == long["scores"]
    assert len(runtime.adapter.calls) == calls + 1  # the cached choice costs one forecast, no backtest


def test_auto_refuses_unknown_candidates(client: TestClient[Any]) -> None:
    resp = client.post("/api/forecast", json={"model": "auto", "horizon": 2, "options": {"candidates": ["nope"]}, "series": [[1, 2, 3]]})
    assert resp.status_code == 404 and resp.json()["code"] == "model_not_found"


def test_evaluate_takes_a_long_format_table_and_answers_as_for_json(client: TestClient[Any]) -> None:
    """A CSV body (rows in any order, fields in the query string) is the same evaluation as the JSON request."""
    a = SERIES[0]
    rows = [f"a,{t},{v}" for t, v in zip(a["timestamps"], a["target"], strict=True)]
    csv = "unique_id,ds,y\n" + "\n".join(reversed(rows)) + "\n"
    query = f"?models={MODEL},chronos-2&horizon=2&windows=2&quantiles=0.1,0.5,0.9&metrics=MAE,MASE"
    resp = client.post("/api/evaluate" + query, content=csv, headers={"content-type": "text/csv"})
    assert resp.status_code == 200, resp.text
    native = client.post("/api/evaluate", json={"models": [MODEL, "chronos-2"], "series": [{"id": "a", "target": a["target"], "timestamps": a["timestamps"]}],
                                                "horizon": 2, "windows": 2, "quantiles": [0.1, 0.5, 0.9], "metrics": ["MAE", "MASE"]}).json()
    table = resp.json()
    assert [r["model"] for r in table["leaderboard"]] == [r["model"] for r in native["leaderboard"]]
    assert [r["metrics"] for r in table["leaderboard"]] == [r["metrics"] for r in native["leaderboard"]]
    assert [s["cutoff"] for w in table["results"][0]["windows"] for s in w["series"]] == ["2024-04-01", "2024-06-01"]
    bad = client.post("/api/evaluate?models=" + MODEL + "&horizon=two", content=csv, headers={"content-type": "text/csv"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_value" and "horizon" in bad.json()["path"]
