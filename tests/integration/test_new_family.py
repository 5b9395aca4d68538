"""A new family from the kit's template, in a temporary folder, served through the gateway.

Nothing in the repository is touched: the family lives in a temporary folder the server finds through
``TOLLAMA_FAMILIES_DIRS``, its one model is an entry in a copy of the registry (``TOLLAMA_REGISTRY``),
its environment is built by ``tollama runtime install`` from the template's lock (offline: the uv cache
the family environments filled), and a real ``tollama serve`` starts its worker process on first use.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest
from conftest import ROOT, tollama_server
from tollama_kit import template

pytestmark = pytest.mark.slow

NAME = "echo"


def test_a_family_from_the_template_serves_through_the_gateway(tmp_path: Path) -> None:
    families = tmp_path / "families"
    template.create(NAME, families)
    registry = tmp_path / "registry.yaml"
    registry.write_text((ROOT / "registry.yaml").read_text().rstrip("\n") + "\n" + template.registry_entry(NAME))
    ckpt = tmp_path / "imports" / "my-echo"
    ckpt.mkdir(parents=True)
    (ckpt / "config.json").write_text(json.dumps({"model_type": f"{NAME}-v1"}))
    runtimes = tmp_path / "runtimes"
    env = {**os.environ, "TOLLAMA_FAMILIES_DIRS": str(families), "TOLLAMA_REGISTRY": str(registry),
           "TOLLAMA_RUNTIMES": str(runtimes), "TOLLAMA_HOME": str(tmp_path / "home"), "UV_OFFLINE": "1"}
    before = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=True).stdout

    installed = subprocess.run([sys.executable, "-m", "tollama", "runtime", "install", NAME], env=env,
                               capture_output=True, text=True, timeout=600, check=False)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert (runtimes / f"{NAME}-cpu" / "bin" / "python").exists()

    extra = {k: env[k] for k in ("TOLLAMA_FAMILIES_DIRS", "TOLLAMA_REGISTRY")}
    with tollama_server(tmp_path / "home", TOLLAMA_RUNTIMES=str(runtimes), TOLLAMA_IMPORT_DIRS=str(tmp_path / "imports"), **extra) as srv:
        base = f"http://127.0.0.1:{srv['TOLLAMA_PORT']}"
        info = httpx.get(f"{base}/api/info", timeout=30).json()
        assert NAME in json.dumps(info)
        target = [3.0, 5.0, 4.0, float("nan"), 7.5, 6.25]
        body = {"model": f"{NAME}-last", "horizon": 3, "quantiles": [0.1, 0.9], "series": [{"id": "s", "target": [*target[:3], None, *target[4:]]}]}
        resp = httpx.post(f"{base}/api/forecast", json=body, timeout=300)
        assert resp.status_code == 200, resp.text
        answer = resp.json()
        assert answer["family"] == NAME
        (fc,) = answer["forecasts"]
        assert fc["mean"] == [6.25] * 3 and fc["quantiles"]["0.1"] == [6.25] * 3
        # the manifest's capability defaults (max_horizon 512) are what the gateway validates against
        too_far = httpx.post(f"{base}/api/forecast", json={**body, "horizon": 513}, timeout=60)
        assert too_far.status_code == 400 and "512" in too_far.json()["error"]
        # `tollama create FROM <dir>` recognises the new family's checkpoints by its manifest's rule
        created = httpx.post(f"{base}/api/create", json={"model": "mine", "modelfile": f"FROM {ckpt}\n", "stream": False}, timeout=60)
        assert created.status_code == 200, created.text
        shown = httpx.post(f"{base}/api/show", json={"model": "mine"}, timeout=30).json()["model_info"]
        assert shown["tollama.family"] == NAME and shown["general.basename"] == f"{NAME}-last"
        np.testing.assert_allclose(httpx.post(f"{base}/api/forecast", json={**body, "model": "mine"}, timeout=60).json()["forecasts"][0]["mean"], [6.25] * 3)

    after = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert after == before, "the new family touched nothing in the repository"
