"""The official ``nixtla`` client, unchanged, against a real ``tollama serve`` with the baseline family.

The client runs in its own environment (``just interop-env``: tests/interop/requirements-nixtla.lock),
since it pins pandas and pyarrow below the gateway's. Its answers are checked against tollama's own
``/api/forecast`` for the same series (parity through the translator).
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import ROOT, co2

INTEROP_PYTHON = ROOT / ".cache" / "interop-venv" / "bin" / "python"
N = 600


def interop_python() -> Path:
    if not INTEROP_PYTHON.exists():
        message = f"the interop environment is missing ({INTEROP_PYTHON}); run `just interop-env`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return INTEROP_PYTHON


pytestmark = [pytest.mark.slow, pytest.mark.interop]


@pytest.fixture(scope="module")
def server(baseline_server: dict[str, str]) -> dict[str, str]:
    return baseline_server


@pytest.fixture(scope="module")
def data() -> dict[str, tuple[list[float], list[str]]]:
    values, dates = co2(N)
    return {"a": (values, dates), "b": ([v * 2 - 500 for v in values], dates)}


@pytest.fixture(scope="module")
def results(server: dict[str, str], data: dict[str, tuple[list[float], list[str]]], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("nixtla")
    csv = folder / "data.csv"
    rows = [f"{uid},{d},{v},{1.0 + k % 5}" for uid, (vals, dates) in data.items() for k, (d, v) in enumerate(zip(dates, vals, strict=True))]
    csv.write_text("unique_id,ds,y,price\n" + "\n".join(reversed(rows)) + "\n")
    out = folder / "out.json"
    ran = subprocess.run([str(interop_python()), str(ROOT / "tests" / "interop" / "nixtla_calls.py"), base(server), str(csv), str(out)],
                         capture_output=True, text=True, timeout=600, check=False)
    assert ran.returncode == 0, ran.stderr[-4000:]
    return json.loads(out.read_text())  # type: ignore[no-any-return]


def base(server: dict[str, str]) -> str:
    return f"http://127.0.0.1:{server['TOLLAMA_PORT']}"


def native(server: dict[str, str], model: str, series: list[dict[str, Any]], horizon: int, quantiles: list[float]) -> list[dict[str, Any]]:
    resp = httpx.post(f"{base(server)}/api/forecast", json={"model": model, "horizon": horizon, "quantiles": quantiles, "freq": "W-SAT", "series": series}, timeout=300)
    assert resp.status_code == 200, resp.text
    return resp.json()["forecasts"]  # type: ignore[no-any-return]


def as_series(data: dict[str, tuple[list[float], list[str]]], cut: int | None = None) -> list[dict[str, Any]]:
    return [{"id": uid, "target": vals[:cut] if cut else vals, "start": dates[0]} for uid, (vals, dates) in data.items()]


def test_models_list_the_installed_ones(results: dict[str, Any]) -> None:
    assert {"auto-ets", "naive", "seasonal-naive"} <= set(results["models"])


def test_forecast_with_levels_equals_tollamas_forecast(results: dict[str, Any], server: dict[str, str], data: Any) -> None:
    rows = results["forecast_level"]
    expected = native(server, "auto-ets", as_series(data), 6, [0.025, 0.1, 0.5, 0.9, 0.975])
    assert [r["unique_id"] for r in rows] == ["a"] * 6 + ["b"] * 6
    _, dates = data["a"]
    assert rows[0]["ds"] == (date.fromisoformat(dates[-1]) + timedelta(weeks=1)).isoformat()
    for col, key in (("TimeGPT", None), ("TimeGPT-lo-80", "0.1"), ("TimeGPT-hi-95", "0.975")):
        want = [v for f in expected for v in (f["mean"] if key is None else f["quantiles"][key])]
        assert [r[col] for r in rows] == pytest.approx(want, rel=1e-6), col


def test_forecast_with_quantiles_names_the_client_columns(results: dict[str, Any], server: dict[str, str], data: Any) -> None:
    rows = results["forecast_quantiles"]
    assert {"TimeGPT-q-10", "TimeGPT-q-50", "TimeGPT-q-90"} <= set(rows[0])
    expected = native(server, "auto-ets", as_series(data), 6, [0.1, 0.5, 0.9])
    assert [r["TimeGPT-q-10"] for r in rows] == pytest.approx([v for f in expected for v in f["quantiles"]["0.1"]], rel=1e-6)


def test_exogenous_features_pass_through_the_translator(results: dict[str, Any]) -> None:
    rows = results["forecast_exog"]
    assert len(rows) == 12 and all(isinstance(r["TimeGPT"], float) for r in rows)


def test_cross_validation_is_forecasts_on_cut_histories(results: dict[str, Any], server: dict[str, str], data: Any) -> None:
    rows = results["cross_validation"]
    assert len(rows) == 2 * 3 * 6
    a = [r for r in rows if r["unique_id"] == "a"]
    values, dates = data["a"]
    cutoffs = sorted({r["cutoff"] for r in a})
    assert cutoffs == [dates[N - 6 * k - 1] for k in (3, 2, 1)]
    for r in a:
        assert r["y"] == pytest.approx(values[dates.index(r["ds"])])
    # The first window: naive repeats the value at its cutoff.
    first = [r for r in a if r["cutoff"] == cutoffs[0]]
    assert [r["TimeGPT"] for r in first] == pytest.approx([values[N - 19]] * 6, rel=1e-6)
    assert all(r["TimeGPT-lo-90"] <= r["TimeGPT"] <= r["TimeGPT-hi-90"] for r in rows)


def test_historical_anomalies_fall_outside_the_interval(results: dict[str, Any]) -> None:
    rows = results["anomalies"]
    assert rows and {"anomaly", "TimeGPT-lo-99", "TimeGPT-hi-99"} <= set(rows[0])
    for r in rows:
        assert r["anomaly"] == (not r["TimeGPT-lo-99"] <= r["y"] <= r["TimeGPT-hi-99"])


def test_online_anomalies_cover_the_detection_window(results: dict[str, Any], data: Any) -> None:
    rows = results["anomalies_online"]
    assert len(rows) == 2 * 8
    _, dates = data["a"]
    assert [r["ds"] for r in rows if r["unique_id"] == "a"] == dates[-8:]
    assert all(r["anomaly"] == (not r["TimeGPT-lo-95"] <= r["y"] <= r["TimeGPT-hi-95"]) for r in rows)


def test_a_zstd_body_is_read(results: dict[str, Any]) -> None:
    assert len(results["forecast_zstd"]) == 60 * 2 * 2


def test_errors_reach_the_clients_api_error(results: dict[str, Any]) -> None:
    unknown = results["unknown_model"]
    assert unknown["status"] == 404 and "no-such-model" in unknown["text"] and "model_not_found" in unknown["text"]
    finetune = results["finetune"]
    assert finetune["status"] == 422 and "fine-tune" in finetune["text"]
