"""An ensemble through a real ``tollama serve`` and the real baseline worker: created with ``tollama create``
from the preset, its ``show --modelfile`` recreating the same digest, each level of its forecast the median
(or the mean) of its members' own /api/forecast answers, and a row of its own in /api/evaluate.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest
from conftest import ROOT, family_python, tollama_cli, tollama_server

MEMBERS = ["naive", "seasonal-naive"]


def _series() -> list[dict[str, object]]:
    from statsmodels.datasets import elnino

    nino = elnino.load_pandas().data.drop(columns="YEAR").to_numpy().ravel()
    return [
        {"id": "recent", "target": [float(v) for v in nino[-96:]], "start": "1995-01-01", "freq": "MS"},
        {"id": "early", "target": [float(v) for v in nino[:60]], "start": "1950-01-01", "freq": "MS"},
    ]


@pytest.mark.slow
def test_ensemble_of_baselines_combines_the_members_answers(tmp_path: Path) -> None:
    family_python("baseline")
    series, horizon = _series(), 12
    with tollama_server(tmp_path / "home") as env, httpx.Client(base_url=f"http://127.0.0.1:{env['TOLLAMA_PORT']}", timeout=300) as http:
        created = tollama_cli(env, "create", "ens", "-f", str(ROOT / "tsmodelfiles" / "baseline-ensemble.tsmodelfile"))
        assert created.returncode == 0, created.stderr
        shown = tollama_cli(env, "show", "ens", "--modelfile")
        assert shown.returncode == 0 and shown.stdout.startswith("ENSEMBLE naive:latest seasonal-naive:latest"), shown.stdout
        (tmp_path / "again.tsmodelfile").write_text(shown.stdout)
        assert tollama_cli(env, "create", "ens-again", "-f", str(tmp_path / "again.tsmodelfile")).returncode == 0
        mean_text = shown.stdout.replace("PARAM combine median", "PARAM combine mean")
        (tmp_path / "mean.tsmodelfile").write_text(mean_text)
        assert tollama_cli(env, "create", "ens-mean", "-f", str(tmp_path / "mean.tsmodelfile")).returncode == 0
        tags = {m["name"]: m["digest"] for m in http.get("/api/tags").json()["models"]}
        assert tags["ens:latest"] == tags["ens-again:latest"] != tags["ens-mean:latest"]

        body = {"horizon": horizon, "series": series}
        own = {m: http.post("/api/forecast", json={**body, "model": m}).json() for m in MEMBERS}
        for name, reduce in (("ens", np.median), ("ens-mean", np.mean)):
            resp = http.post("/api/forecast", json={**body, "model": name})
            assert resp.status_code == 200, resp.text
            out = resp.json()
            assert out["model"] == f"{name}:latest" and out["quantiles"] == [0.1, 0.5, 0.9]
            for i, f in enumerate(out["forecasts"]):
                assert f["members"] == ["naive:latest", "seasonal-naive:latest"]
                assert f["timestamps"] == own["naive"]["forecasts"][i]["timestamps"]
                members = [own[m]["forecasts"][i] for m in MEMBERS]
                assert f["mean"] == pytest.approx(reduce([m["mean"] for m in members], axis=0).tolist())
                for level in ("0.1", "0.5", "0.9"):
                    assert f["quantiles"][level] == pytest.approx(reduce([m["quantiles"][level] for m in members], axis=0).tolist())
            # the two baselines really differ here, so the combination is not one of them
            assert out["forecasts"][0]["mean"] != own["naive"]["forecasts"][0]["mean"]

        resp = http.post("/api/evaluate", json={"models": [*MEMBERS, "ens"], "series": series, "horizon": horizon, "windows": 2,
                                                "metrics": ["MASE", "WQL"]})
        assert resp.status_code == 200, resp.text
        rows = {r["model"]: r for r in resp.json()["leaderboard"]}
        assert set(rows) == {*MEMBERS, "ens"}
        assert all(isinstance(rows[m]["metrics"]["MASE"], float) and isinstance(rows[m]["metrics"]["WQL"], float) for m in rows)
        assert isinstance(rows["ens"]["skill"], float)  # against seasonal-naive, evaluated beside it
        assert sorted(r["rank"] for r in rows.values()) == [1, 2, 3]
