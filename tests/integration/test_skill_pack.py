"""The skill pack's scripts (skills/tollama-forecast/scripts) against real servers: every exit code."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, family_python, refused_port, tollama_server

SCRIPTS = ROOT / "skills" / "tollama-forecast" / "scripts"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    family_python("baseline")
    with tollama_server(tmp_path_factory.mktemp("home")) as env:
        yield env


def run(env: dict[str, str], script: str, *args: str, stdin: str | None = None, **extra: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "TOLLAMA_HOST": "127.0.0.1", "TOLLAMA_PORT": env["TOLLAMA_PORT"], **extra}
    full.pop("TOLLAMA_URL", None)
    return subprocess.run(["bash", str(SCRIPTS / script), *args], input=stdin, env=full, capture_output=True, text=True, timeout=120, check=False)


def structured(proc: subprocess.CompletedProcess[str]) -> dict[str, object]:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    body = json.loads(lines[0])
    assert set(body) == {"code", "exit_code", "message", "hint"} and body["exit_code"] == proc.returncode
    return body  # type: ignore[no-any-return]


def test_ok(server: dict[str, str], tmp_path: Path) -> None:
    req = tmp_path / "req.json"
    req.write_text(json.dumps({"model": "naive", "series": [[1, 2, 3.5]], "horizon": 2}))
    done = run(server, "forecast.sh", str(req))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["forecasts"][0]["mean"] == [3.5, 3.5]
    piped = run(server, "forecast.sh", stdin=req.read_text())
    assert piped.returncode == 0 and json.loads(piped.stdout)["forecasts"][0]["mean"] == [3.5, 3.5]
    checked = run(server, "validate.sh", str(req))
    assert checked.returncode == 0 and json.loads(checked.stdout)["valid"] is True
    assert run(server, "pull.sh", "naive").returncode == 0
    models = run(server, "models.sh")
    assert models.returncode == 0 and "naive:latest" in [m["name"] for m in json.loads(models.stdout)["models"]]
    shown = run(server, "show.sh", "naive")
    assert shown.returncode == 0 and json.loads(shown.stdout)["details"]["family"] == "baseline"


def test_2_invalid_request(server: dict[str, str]) -> None:
    bad = run(server, "forecast.sh", stdin=json.dumps({"model": "naive", "series": [[1, 2]], "horizon": 0}), TOLLAMA_JSON_STDERR="1")
    assert bad.returncode == 2
    body = structured(bad)
    assert body["code"] == "invalid_value" and "horizon" in str(body["message"])
    human = run(server, "forecast.sh", "/nonexistent.json")
    assert human.returncode == 2 and human.stderr.startswith("tollama: cannot read the request file") and "hint:" in human.stderr


def test_3_server_unreachable() -> None:
    with refused_port() as port:
        down = run({"TOLLAMA_PORT": str(port)}, "models.sh", TOLLAMA_JSON_STDERR="1")
    assert down.returncode == 3 and structured(down)["code"] == "server_unreachable"


def test_4_model_missing(server: dict[str, str]) -> None:
    missing = run(server, "forecast.sh", stdin=json.dumps({"model": "nosuch", "series": [[1, 2]]}), TOLLAMA_JSON_STDERR="1")
    assert missing.returncode == 4 and structured(missing)["code"] == "model_not_found"
    assert run(server, "show.sh", "nosuch").returncode == 4


def test_5_licence_not_accepted(server: dict[str, str]) -> None:
    refused = run(server, "pull.sh", "moirai-1.1-r-small", TOLLAMA_JSON_STDERR="1")
    assert refused.returncode == 5
    body = structured(refused)
    assert body["code"] == "license_not_accepted" and "--accept-license" in str(body["hint"])


def test_6_timeout() -> None:
    # A server that accepts the connection and never answers.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        slow = run({"TOLLAMA_PORT": str(silent.getsockname()[1])}, "models.sh", TOLLAMA_TIMEOUT="1", TOLLAMA_JSON_STDERR="1")
    assert slow.returncode == 6 and structured(slow)["code"] == "timeout"


def test_10_internal_error(tmp_path: Path) -> None:
    # A real server whose runtimes folder is empty: it cannot serve the forecast (runtime_not_installed).
    (tmp_path / "runtimes").mkdir()
    with tollama_server(tmp_path / "home", TOLLAMA_RUNTIMES=str(tmp_path / "runtimes")) as env:
        failed = run(env, "forecast.sh", stdin=json.dumps({"model": "naive", "series": [[1, 2, 3]], "horizon": 2}), TOLLAMA_JSON_STDERR="1")
    assert failed.returncode == 10, failed.stderr
    assert structured(failed)["code"] == "runtime_not_installed"
