"""The toto2 worker image (Python 3.12) under the docker runtime: built offline, pulled, forecast, parity.

The image is the generic worker stage on a Python 3.12 base: ``python:3.12-slim`` where a registry
is reachable, else ``tollama-base:py3.12`` that ``scripts/build-image.sh`` makes with
``scripts/python-base-image.sh`` (the bookworm base plus the host's CPython 3.12). A tiny random
Toto 2.0 checkpoint built with toto-2 is pulled from a local hub and forecast on statsmodels' co2 in
the container; the answer equals toto-2 called directly in the host's toto2 environment.

Part of the docker tier (marked ``slow``): PyPI's only Linux torch for Python 3.12 is the CUDA build, so
the image's dependency layer downloads several GB of CUDA wheels; on a quiet machine the whole image
(5.6 GB) builds in about 4 minutes from a cold cache (docs/benchmarks.md). An unchanged tree rebuilds from
the layer cache. ``TOLLAMA_SKIP_TOTO2_IMAGE=1`` leaves it out of a local run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import docker
import numpy as np
import pytest
from conftest import ROOT, build_image, managed
from hubserver import HubServer
from litestar.testing import TestClient
from tollama.app import create_app
from tollama.settings import Settings

pytestmark = [
    pytest.mark.docker,
    pytest.mark.slow,
    pytest.mark.skipif(
        bool(os.environ.get("TOLLAMA_SKIP_TOTO2_IMAGE")),
        reason="TOLLAMA_SKIP_TOTO2_IMAGE is set: the toto2 image (Python 3.12 base, PyPI's CUDA torch, 5.6 GB) is not built",
    ),
]

MODEL, REPO = "toto-2.0-4m", "Datadog/Toto-2.0-4m"
HORIZON = 24


def _toto2_python() -> Path:
    # where scripts/family_env.py (and `just runtimes-for-tests`) put the family environments
    runtimes = Path(os.environ.get("TOLLAMA_HOME", ROOT / ".cache" / "tollama-home")) / "runtimes"
    python = runtimes / "toto2-cpu" / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, str(ROOT / "scripts" / "family_env.py"), "toto2", "--tests"], cwd=ROOT, check=True)
    return python


def _fixtures(*args: str) -> None:
    subprocess.run(
        [str(_toto2_python()), str(ROOT / "families/toto2/tests/fixtures_cli.py"), *args],
        cwd=ROOT, check=True, capture_output=True, timeout=600,
    )


def _co2(n: int = 256) -> tuple[list[float], list[str]]:
    from statsmodels.datasets import co2

    s = co2.load_pandas().data["co2"].interpolate().iloc[-n:]
    return [float(v) for v in s.to_numpy()], [t.strftime("%Y-%m-%d") for t in s.index]


def test_the_toto2_image_forecasts_co2_as_the_library_does(
    tmp_path: Path, engine: docker.DockerClient, instance: str
) -> None:
    build_image("toto2")
    image = engine.images.get("tollama/toto2:cpu")
    assert image.labels["tollama.family"] == "toto2"
    version = engine.containers.run("tollama/toto2:cpu", ["python", "--version"], remove=True).decode()
    assert version.startswith("Python 3.12"), version

    ckpt = tmp_path / "ckpt"
    _fixtures("build", MODEL, str(ckpt))
    files = {p.relative_to(ckpt).as_posix(): p.read_bytes() for p in sorted(ckpt.rglob("*")) if p.is_file()}
    values, dates = _co2()
    request = {"model": MODEL, "horizon": HORIZON, "quantiles": [0.1, 0.5, 0.9],
               "series": [{"id": "co2", "target": values, "timestamps": dates}]}
    with HubServer({REPO: {"main": files}}) as hub:
        settings = Settings(home=tmp_path / "home", runtime="docker", docker_instance=instance, keep_alive="5m",
                            worker_start_timeout=300, hf_endpoint=hub.endpoint)
        with TestClient(create_app(settings), timeout=600) as client:
            pulled = client.post("/api/pull", json={"model": MODEL, "stream": False})
            assert pulled.status_code == 200, pulled.text
            resp = client.post("/api/forecast", json=request)
            assert resp.status_code == 200, resp.text
            body: dict[str, Any] = resp.json()
            (container,) = managed(engine, instance, **{"tollama.family": "toto2"})
            assert container.image.tags == ["tollama/toto2:cpu"]
            assert container.attrs["Config"]["User"] == "10001:10001"
        assert managed(engine, instance) == []

    assert body["family"] == "toto2" and body["device"] == "cpu"
    (fc,) = body["forecasts"]
    direct_in, direct_out = tmp_path / "request.json", tmp_path / "direct.json"
    direct_in.write_text(json.dumps({"horizon": HORIZON, "quantiles": [0.1, 0.5, 0.9],
                                     "series": [{"id": "co2", "target": [values]}], "options": {}}))
    _fixtures("direct", MODEL, str(ckpt), str(direct_in), str(direct_out))
    (d,) = json.loads(direct_out.read_text())["series"]
    np.testing.assert_allclose(fc["mean"], d["mean"][0], rtol=1e-4, atol=1e-4)
    for i, level in enumerate(["0.1", "0.5", "0.9"]):
        np.testing.assert_allclose(fc["quantiles"][level], np.asarray(d["quantiles"])[i, 0], rtol=1e-4, atol=1e-4)
