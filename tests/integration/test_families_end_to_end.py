"""Every family through the whole product: pull from a local hub → real worker process → forecast.

For each model, a tiny checkpoint is built with the family's own library, served by a
local server speaking the Hugging Face hub protocol, pulled through ``/api/pull``, loaded
by a real worker process through the library's public loader, and forecast through
``/api/forecast`` on statsmodels' co2. **Parity**: the result equals the upstream library
called directly (``fixtures_cli.py direct``) on the same checkpoint and input.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import RUNTIMES, assert_close, build_checkpoint, direct_forecast, family_python, manifest_cases
from hubserver import HubServer
from litestar.testing import TestClient
from tollama.app import create_app
from tollama.registry import Registry
from tollama.settings import Settings

pytestmark = pytest.mark.slow

# (family, model, tolerance, extra worker environment): every end-to-end check the family manifests declare.
CASES: list[tuple[str, str, float, dict[str, str]]] = manifest_cases()
REGISTRY = Registry.load(Settings().registry_file)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {}


@pytest.fixture(scope="module")
def hub() -> Iterator[HubServer]:
    with HubServer(repos={}) as server:
        yield server


@pytest.fixture(scope="module")
def gateway(hub: HubServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient[Any]]:
    settings = Settings(home=tmp_path_factory.mktemp("home"), runtimes=RUNTIMES, hf_endpoint=hub.endpoint, keep_alive="10m", max_loaded_models=2, runtime="process")
    app = create_app(settings)
    with TestClient(app, timeout=600) as client:
        yield client


@pytest.mark.parametrize(("family", "model", "tol", "env"), CASES, ids=[c[1] for c in CASES])
def test_pull_forecast_parity(
    family: str, model: str, tol: float, env: dict[str, str], hub: HubServer, gateway: TestClient[Any],
    statsmodels_co2: tuple[list[float], list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    family_python(family)
    for key, value in env.items():
        monkeypatch.setenv(key, value)  # the worker process inherits the gateway's environment
    entry = REGISTRY.get(model)
    assert entry is not None
    ckpt = tmp_path / "ckpt"
    files = build_checkpoint(family, model, ckpt)
    if entry.repo:  # builtin models (baseline) have no weights and pull answers at once
        hub.repos[entry.repo] = {entry.revision: files}

    pulled = gateway.post("/api/pull", json={"model": model, "stream": False, "accept_license": True})
    assert pulled.status_code == 200, pulled.text
    assert pulled.json()["status"] == "success"

    values, dates = statsmodels_co2
    horizon = min(24, entry.capabilities.max_horizon)
    context = values[-min(len(values), entry.capabilities.max_context):]
    request = {"model": model, "horizon": horizon, "quantiles": [0.1, 0.5, 0.9],
               "series": [{"id": "co2", "target": context, "timestamps": dates[-len(context):]}],
               "options": {"seed": 0}, "keep_alive": 0}
    resp = gateway.post("/api/forecast", json=request)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["family"] == family and body["device"] == "cpu"
    (fc,) = body["forecasts"]
    assert fc["timestamps"][0] > dates[-1] and len(fc["timestamps"]) == horizon

    direct = direct_forecast(family, model, ckpt, {
        "horizon": horizon, "quantiles": [0.1, 0.5, 0.9],
        "series": [{"id": "co2", "target": [context]}], "options": {"seed": 0, "context_length": len(context)},
        # co2 is weekly, in the spelling granite-tsfm's FlowState helper reads (other families ignore it)
        "freq": "W",
    }, tmp_path, env=env)
    (d,) = direct["series"]
    assert_close(fc["mean"], d["mean"][0], rtol=tol, atol=tol, what=f"{model} mean")
    # tollama's one change to a library's quantiles: crossing levels (random tiny models cross) are
    # sorted, so that every answer is monotone in the level.
    want = np.sort(np.asarray(d["quantiles"], dtype=np.float64)[:, 0, :], axis=0)
    for i, level in enumerate(["0.1", "0.5", "0.9"]):
        assert_close(fc["quantiles"][level], want[i], rtol=tol, atol=tol, what=f"{model} q{level}")
    assert gateway.get("/api/ps").json()["models"] == [], "keep_alive 0 unloads after the request"

    # Covariates the model's entry excludes: the gateway alone applies covariates_mode (no worker reads it).
    caps, series = entry.capabilities, request["series"][0]
    unusable = {"static_covariates": {"site": "mauna-loa"}} if not caps.static_covariates else {}
    if not caps.past_covariates:
        unusable["past_covariates"] = {"co2_lag": context}
    assert unusable, model
    extra = {**request, "series": [{**series, **unusable}]}
    strict = gateway.post("/api/forecast", json={**extra, "options": {"seed": 0, "covariates_mode": "strict"}})
    assert (strict.status_code, strict.json()["code"]) == (422, "unsupported"), strict.text
    dropped = gateway.post("/api/forecast", json=extra)
    assert dropped.status_code == 200, dropped.text
    assert dropped.json()["forecasts"][0]["mean"] == fc["mean"], "what the gateway drops never reaches the model"
    for kind in unusable:
        assert any(kind in w for w in dropped.json()["warnings"]), (kind, dropped.json()["warnings"])


def test_chronos2_covariates_through_the_gateway(hub: HubServer, gateway: TestClient[Any], tmp_path: Path) -> None:
    """statsmodels' macrodata: real GDP with consumption (past only) and investment (known future)."""
    family_python("chronos")
    from statsmodels.datasets import macrodata

    df = macrodata.load_pandas().data
    horizon = 8
    y, cons, inv = (df[c].astype(float).tolist() for c in ("realgdp", "realcons", "realinv"))
    entry = REGISTRY.get("chronos-2")
    assert entry is not None and entry.repo
    ckpt = tmp_path / "ckpt"
    hub.repos[entry.repo] = {entry.revision: build_checkpoint("chronos", "chronos-2", ckpt)}
    assert gateway.post("/api/pull", json={"model": "chronos-2", "stream": False}).status_code == 200
    series = {"id": "gdp", "target": y[:-horizon], "past_covariates": {"realcons": cons[:-horizon]}, "future_covariates": {"realinv": inv}}
    resp = gateway.post("/api/forecast", json={"model": "chronos-2", "horizon": horizon, "quantiles": [0.1, 0.5, 0.9],
                                               "options": {"covariates_mode": "strict"}, "series": [series]})
    assert resp.status_code == 200, resp.text
    (fc,) = resp.json()["forecasts"]
    direct = direct_forecast("chronos", "chronos-2", ckpt, {
        "horizon": horizon, "quantiles": [0.1, 0.5, 0.9], "options": {},
        "series": [{**series, "target": [series["target"]]}],
    }, tmp_path)
    (d,) = direct["series"]
    assert_close(fc["mean"], d["mean"][0], what="chronos-2 covariates mean")
    want = np.sort(np.asarray(d["quantiles"], dtype=np.float64)[:, 0, :], axis=0)
    for i, level in enumerate(["0.1", "0.5", "0.9"]):
        assert_close(fc["quantiles"][level], want[i], what=f"chronos-2 covariates q{level}")
    without = gateway.post("/api/forecast", json={"model": "chronos-2", "horizon": horizon, "series": [{"id": "gdp", "target": y[:-horizon]}]})
    assert not np.allclose(without.json()["forecasts"][0]["mean"], fc["mean"]), "the covariates must change the forecast"
