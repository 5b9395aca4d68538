"""granite-ttm-r2 declares its TTM variants: a horizon its 512-96 checkpoint cannot serve is served,
through a real granite worker process, by the pulled 512-336 variant (a different hub revision)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import RUNTIMES, assert_close, build_checkpoint, direct_forecast, family_python
from hubserver import HubServer
from litestar.testing import TestClient
from tollama.app import create_app
from tollama.registry import Registry
from tollama.settings import Settings

pytestmark = pytest.mark.slow

BASE, VARIANT = "granite-ttm-r2", "granite-ttm-r2-512-336"


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, bytes]]]:
    family_python("granite")
    out = {}
    for name in (BASE, VARIANT):
        ckpt = tmp_path_factory.mktemp(name)
        out[name] = (ckpt, build_checkpoint("granite", name, ckpt))
    return out


@pytest.fixture(scope="module")
def gateway(checkpoints: dict[str, tuple[Path, dict[str, bytes]]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient[Any]]:
    registry = Registry.load(Settings().registry_file)
    base, variant = registry.get(BASE), registry.get(VARIANT)
    assert base is not None and variant is not None and base.repo is not None
    assert variant.repo == base.repo and (base.revision, variant.revision) == ("main", "512-336-r2")
    revisions = {base.revision: checkpoints[BASE][1], variant.revision: checkpoints[VARIANT][1]}
    with HubServer(repos={base.repo: revisions}) as hub:
        settings = Settings(home=tmp_path_factory.mktemp("home"), runtimes=RUNTIMES, hf_endpoint=hub.endpoint,
                            keep_alive="10m", max_loaded_models=2, runtime="process")
        with TestClient(create_app(settings), timeout=600) as client:
            for name in (BASE, VARIANT):
                pulled = client.post("/api/pull", json={"model": name, "stream": False})
                assert pulled.status_code == 200 and pulled.json()["status"] == "success", pulled.text
            yield client


def _digest(client: TestClient[Any], name: str) -> str:
    return str(client.post("/api/show", json={"model": name}).json()["model_info"]["tollama.digest"])


def test_a_horizon_of_200_to_the_base_is_served_by_the_512_336_variant(
    gateway: TestClient[Any], checkpoints: dict[str, tuple[Path, dict[str, bytes]]],
    statsmodels_co2: tuple[list[float], list[str]], tmp_path: Path,
) -> None:
    values, dates = statsmodels_co2
    request = {"model": BASE, "horizon": 200, "quantiles": [0.1, 0.5, 0.9],
               "series": [{"id": "co2", "target": values, "timestamps": dates}], "keep_alive": "10m"}
    resp = gateway.post("/api/forecast", json=request)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["model"] == "granite-ttm-r2:latest" and body["family"] == "granite" and body["horizon"] == 200
    assert body["digest"] == _digest(gateway, VARIANT) != _digest(gateway, BASE)
    assert any(f"served by its variant '{VARIANT}'" in w for w in body["warnings"]), body["warnings"]
    (fc,) = body["forecasts"]
    assert len(fc["mean"]) == 200 and fc["timestamps"][0] > dates[-1]
    assert [m["name"] for m in gateway.get("/api/ps").json()["models"]] == [f"{VARIANT}:latest"]

    # the worker ran the 512-336 checkpoint: the library called directly on it gives the same mean
    direct = direct_forecast("granite", VARIANT, checkpoints[VARIANT][0], {
        "horizon": 200, "quantiles": [0.1, 0.5, 0.9],
        "series": [{"id": "co2", "target": [values]}], "options": {"context_length": len(values)},
    }, tmp_path)
    assert_close(fc["mean"], direct["series"][0]["mean"][0], what="512-336 mean")

    # a horizon the base covers stays on the base (no better variant exists for 512 points)
    short = gateway.post("/api/forecast", json={**request, "horizon": 24, "keep_alive": 0})
    assert short.status_code == 200, short.text
    assert short.json()["digest"] == _digest(gateway, BASE)
    assert not any("variant" in w for w in short.json()["warnings"]), short.json()["warnings"]
