"""``tollama run`` pulls and forecasts each family's model from the test hub, at the command line.

One real ``tollama serve`` (process runtime) and a local hub holding tiny checkpoints built with each
family's own library. ``tollama run MODEL`` with nothing pulled pulls the model (licence accepted on
the command line where the catalogue asks for it), starts the family's worker and prints the forecast.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TIMESFM_TINY, build_checkpoint, co2, family_python, tollama_cli, tollama_server
from hubserver import HubServer
from tollama.registry import Registry
from tollama.settings import Settings

pytestmark = pytest.mark.slow

REGISTRY = Registry.load(Settings().registry_file)
# (family, model) as issue "Done when" lists them; every one pulled by `tollama run` itself.
MODELS = [
    ("timesfm", "timesfm-2.5-200m"),
    ("uni2ts", "moirai-1.1-r-small"),
    ("uni2ts", "moirai-2.0-r-small"),
    ("toto", "toto-open-base-1.0"),
    ("granite", "granite-ttm-r2"),
    ("sundial", "sundial-base-128m"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    repos: dict[str, dict[str, dict[str, bytes]]] = {}
    for family, model in [*MODELS, ("granite", "granite-ttm-r2-512-336")]:
        family_python(family)
        entry = REGISTRY.get(model)
        assert entry is not None and entry.repo
        repos.setdefault(entry.repo, {})[entry.revision] = build_checkpoint(family, model, tmp_path_factory.mktemp(model))
    with HubServer(repos=repos) as hub, tollama_server(tmp_path_factory.mktemp("home"), hub.endpoint, **TIMESFM_TINY,
                                                         TOLLAMA_MAX_LOADED_MODELS="1") as env:
        yield env


@pytest.fixture(scope="module")
def co2_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    values, dates = co2(256)
    path = tmp_path_factory.mktemp("data") / "co2.csv"
    path.write_text("timestamp,value\n" + "".join(f"{d},{v}\n" for d, v in zip(dates, values, strict=True)))
    return path


@pytest.mark.parametrize(("family", "model"), MODELS, ids=[m for _, m in MODELS])
def test_run_pulls_and_forecasts(server: dict[str, str], co2_csv: Path, family: str, model: str) -> None:
    ran = tollama_cli(server, "run", model, "--input", str(co2_csv), "--horizon", "12", "--accept-license", "--json", timeout=600)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert f"pulling {model}" in ran.stderr
    body = json.loads(ran.stdout)
    assert body["family"] == family and body["model"] == f"{model}:latest"
    (fc,) = body["forecasts"]
    assert len(fc["mean"]) == 12 and fc["timestamps"][0] > "2001-12-29"
    assert all(math.isfinite(v) for v in fc["mean"])
    listed = tollama_cli(server, "list")
    assert model in listed.stdout


def test_run_pulls_the_granite_variant_a_long_horizon_needs(server: dict[str, str], co2_csv: Path) -> None:
    """granite-ttm-r2 (512-96) cannot forecast 200 steps: `tollama run` pulls the variant the gateway
    names (512-336 for 256 points of history) and the forecast is served by it."""
    ran = tollama_cli(server, "run", "granite-ttm-r2", "--input", str(co2_csv), "--horizon", "200", "--json", timeout=600)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert "pulling granite-ttm-r2-512-336" in ran.stderr
    body = json.loads(ran.stdout)
    assert len(body["forecasts"][0]["mean"]) == 200
    assert any("granite-ttm-r2-512-336" in w for w in body["warnings"])
