"""The shared fixtures command line: build, direct and time, with a family made of plain functions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tollama_kit.fixtures import Fixtures, main

CALLS: list[str] = []


def _build(model: str, out: Path, size: str, seed: int) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps({"model": model, "size": size, "seed": seed}))
    return out


def _load(model: str, ckpt: str) -> dict[str, Any]:
    CALLS.append("load")
    return json.loads((Path(ckpt) / "config.json").read_text())


def _run(model: str, loaded: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    CALLS.append("run")
    last = [row[-1] for row in request["series"][0]["target"]]
    return {"series": [{"id": request["series"][0]["id"], "mean": [[v] * request["horizon"] for v in last], "seed": loaded["seed"]}]}


FAMILY = Fixtures(models=["Toy-A", "toy-b"], build=_build, load=_load, run=_run, sizes=("tiny", "real"),
                  canonical=lambda name: {"toy-a": "Toy-A"}.get(name, name))


def test_build_direct_and_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    CALLS.clear()
    ckpt = tmp_path / "ckpt"
    assert main(FAMILY, ["build", "toy-a", str(ckpt), "--size", "real", "--seed", "3"]) == 0
    assert json.loads((ckpt / "config.json").read_text()) == {"model": "Toy-A", "size": "real", "seed": 3}
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"horizon": 2, "quantiles": [0.5], "series": [{"id": "a", "target": [[1.0, 4.0]]}]}))
    out = tmp_path / "out.json"
    assert main(FAMILY, ["direct", "Toy-A", str(ckpt), str(request), str(out)]) == 0
    assert json.loads(out.read_text()) == {"series": [{"id": "a", "mean": [[4.0, 4.0]], "seed": 3}]}
    assert CALLS == ["load", "run"]

    CALLS.clear()
    capsys.readouterr()
    assert main(FAMILY, ["time", "toy-b", str(ckpt), str(request), "--repeat", "4"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert CALLS == ["load"] + ["run"] * 5, "one load, one warm-up call, then the timed calls"
    assert report["repeat"] == 4 and report["median_ms"] >= 0 and report["load_ms"] >= 0


def test_unknown_model_and_size_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main(FAMILY, ["build", "nope", str(tmp_path)])
    with pytest.raises(SystemExit):
        main(Fixtures(models=["toy-b"], build=_build, load=_load, run=_run), ["build", "toy-b", str(tmp_path), "--size", "real"])
