"""KServe's time-series protocol and the SageMaker/Chronos shape against a real ``tollama serve``.

The KServe side runs in the interop venv with KServe's own pydantic types (see
tests/interop/kserve_calls.py); both doors are compared with tollama's own ``/api/forecast``.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import httpx
import pytest
from conftest import ROOT, co2
from test_nixtla_client import interop_python

pytestmark = [pytest.mark.slow, pytest.mark.interop]


@pytest.fixture(scope="module")
def server(baseline_server: dict[str, str]) -> str:
    return f"http://127.0.0.1:{baseline_server['TOLLAMA_PORT']}"


def native(base: str, series: list[dict[str, Any]], model: str, horizon: int, quantiles: list[float], freq: str) -> list[dict[str, Any]]:
    resp = httpx.post(f"{base}/api/forecast", json={"model": model, "horizon": horizon, "quantiles": quantiles, "freq": freq, "series": series}, timeout=300)
    assert resp.status_code == 200, resp.text
    return resp.json()["forecasts"]  # type: ignore[no-any-return]


def test_kserve_answers_validate_with_kserves_types(server: str, tmp_path: Any) -> None:
    values, _ = co2(300)
    request = {"model": "auto-ets", "options": {"horizon": 5, "quantiles": [0.1, 0.9]}, "inputs": [
        {"type": "univariate_time_series", "name": "co2", "series": values, "frequency": "W", "start_timestamp": "1996-01-06"},
        {"type": "univariate_time_series", "name": "half", "series": [v / 2 for v in values[:200]], "frequency": "W", "start_timestamp": "1996-01-06"},
    ]}
    (tmp_path / "req.json").write_text(json.dumps(request))
    ran = subprocess.run([str(interop_python()), str(ROOT / "tests" / "interop" / "kserve_calls.py"), server, str(tmp_path / "req.json"), str(tmp_path / "out.json")],
                         capture_output=True, text=True, timeout=600, check=False)
    assert ran.returncode == 0, ran.stderr[-4000:]
    out = json.loads((tmp_path / "out.json").read_text())
    content = out["response"]["outputs"][0]["content"]
    assert out["response"]["status"] == "completed" and [c["name"] for c in content] == ["co2", "half"]
    expected = native(server, [{"id": "co2", "target": values, "start": "1996-01-06"}, {"id": "half", "target": [v / 2 for v in values[:200]], "start": "1996-01-06"}],
                      "auto-ets", 5, [0.1, 0.9], "W")
    for c, f in zip(content, expected, strict=True):
        assert c["mean_forecast"] == pytest.approx(f["mean"], rel=1e-6)
        assert c["quantiles"]["0.9"] == pytest.approx(f["quantiles"]["0.9"], rel=1e-6)
        assert c["start_timestamp"] == f["timestamps"][0]
    assert out["error_status"] == 404
    assert out["error"]["error"]["type"] == "model_not_found" and "no-such-model" in out["error"]["error"]["message"] and out["error"]["error"]["code"] == "404"
    assert "auto-ets:latest" in out["models"]


def test_sagemaker_invocations_match_the_native_forecast(server: str) -> None:
    values, dates = co2(120)
    body = {"inputs": [{"target": values, "item_id": "co2", "start": dates[0], "past_covariates": {"x": list(range(120))}, "future_covariates": {"x": [120, 121, 122]}},
                       {"target": values[:80]}],
            "parameters": {"prediction_length": 3, "quantile_levels": [0.1, 0.5, 0.9], "freq": "W-SAT", "model": "seasonal-naive", "batch_size": 16}}
    resp = httpx.post(f"{server}/invocations", json=body, timeout=300)
    assert resp.status_code == 200, resp.text
    predictions = resp.json()["predictions"]
    expected = native(server, [{"id": "co2", "target": values, "start": dates[0]}, {"id": "1", "target": values[:80]}], "seasonal-naive", 3, [0.1, 0.5, 0.9], "W-SAT")
    assert predictions[0]["item_id"] == "co2" and predictions[0]["start"] == expected[0]["timestamps"][0]
    for p, f in zip(predictions, expected, strict=True):
        assert p["mean"] == pytest.approx(f["mean"], rel=1e-6)
        assert p["0.1"] == pytest.approx(f["quantiles"]["0.1"], rel=1e-6)
    bad = httpx.post(f"{server}/invocations", json={**body, "parameters": {"prediction_length": 3, "model": "no-such-model"}}, timeout=60)
    assert bad.status_code == 404 and bad.json()["code"] == "model_not_found"
    assert httpx.get(f"{server}/ping").status_code == 200
