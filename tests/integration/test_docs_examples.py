"""Every ``tollama`` command in the README's and docs' ``sh`` blocks, run against a real ``tollama serve``
(baseline family only) on the files in ``examples/``; the README's curl body through the real API.

A command that needs a non-baseline family, the model hub or Docker is listed in SKIPPED with its
reason; a command in the docs that is neither run nor listed fails the test, so new examples get run.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import ROOT, family_python, tollama_server

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]

SKIPPED = {
    "tollama pull chronos-bolt-small": "needs the model hub (tests reach no network; test_cli.py pulls from a local hub)",
    "tollama runtime install chronos": "builds the 1.3 GB chronos environment (`just runtimes-for-tests` does; test_cli.py uses it)",
    "tollama run chronos-bolt-small --input examples/series.csv --horizon 24": "needs chronos-bolt-small pulled and the chronos family",
    "tollama stop chronos-bolt-small": "needs chronos-bolt-small pulled (not installed here: exit 4)",
    "tollama create my-hourly -f tsmodelfiles/hourly-energy.tsmodelfile": "its base chronos-bolt-small must be pulled (the chronos family)",
    "tollama run my-hourly --input load.csv": "needs my-hourly (chronos) and an hourly load file",
    "tollama show my-hourly --modelfile": "needs my-hourly (chronos)",
}
NOT_TOLLAMA = {
    "export PATH=$PWD/.venv/bin:$PATH": "the test runs the CLI of this interpreter (python -m tollama)",
    "./dev serve": "the fresh-machine rehearsal runs it (scripts/rehearse-fresh.sh)",
    "./dev test": "the fresh-machine rehearsal runs it (scripts/rehearse-fresh.sh)",
    "just images": "builds Docker images (tests/docker builds and tests them)",
    "docker compose up -d": "needs Docker (tests/docker/test_compose.py)",
}


def commands() -> list[tuple[str, str]]:
    """(file, command) for each line of every ```sh block, comments stripped, in order."""
    found = []
    for doc in DOCS:
        for block in re.findall(r"```sh\n(.*?)```", doc.read_text(), flags=re.DOTALL):
            for line in block.splitlines():
                command = re.sub(r"\s+#.*$", "", line).strip()
                if command and not command.startswith(("#", "curl ", "'", '"')) and not line.startswith((" ", "\t")):
                    found.append((doc.name, command))
    return found


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    family_python("baseline")
    with tollama_server(tmp_path_factory.mktemp("home")) as env:
        yield env


def run(env: dict[str, str], command: str) -> subprocess.CompletedProcess[str]:
    argv = shlex.split(command)
    assert argv[0] == "tollama"
    return subprocess.run([sys.executable, "-m", "tollama", *argv[1:]], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)


def test_every_doc_command_is_run_or_skipped_by_name() -> None:
    unknown = [(doc, c) for doc, c in commands() if not c.startswith("tollama ") and c not in NOT_TOLLAMA]
    assert unknown == [], "add these to NOT_TOLLAMA with a reason, or make them tollama commands"
    assert any(c.startswith("tollama run --input examples/") for _, c in commands())


def test_doc_commands_run_against_a_real_server(server: dict[str, str]) -> None:
    ran = []
    for doc, command in commands():
        if not command.startswith("tollama ") or command in SKIPPED:
            continue
        result = run(server, command)
        assert "Traceback" not in result.stderr, f"{doc}: {command}\n{result.stderr}"
        allowed = (0, 1) if command.startswith("tollama doctor") else (0,)  # doctor warns about families not built here
        assert result.returncode in allowed, f"{doc}: {command} exited {result.returncode}\n{result.stderr}"
        ran.append(command)
        if command.startswith("tollama run") and "--json" not in command:
            assert result.stdout.startswith("series "), result.stdout
        if command == "tollama run my-daily --input examples/daily.csv":
            rows = [ln.split() for ln in result.stdout.splitlines()[2:] if ln[:4].isdigit()]
            assert len(rows) == 14 and rows[0][0] == "2016-01-01", rows  # the preset's horizon, after 2015-12-31
        if command == "tollama show my-daily --modelfile":
            assert "FROM auto-ets:latest" in result.stdout and "PARAM horizon 14" in result.stdout
        if command == "tollama show baseline-ensemble --modelfile":
            assert result.stdout.startswith("ENSEMBLE naive:latest seasonal-naive:latest\n") and "PARAM combine median" in result.stdout
        if command == "tollama show baseline-ensemble":
            assert re.search(r"members\s+naive:latest, seasonal-naive:latest\n", result.stdout), result.stdout
            assert re.search(r"family\s+ensemble\n", result.stdout) and "None" not in result.stdout, result.stdout
        if command == "tollama run baseline-ensemble --input examples/series.csv":
            assert len([ln for ln in result.stdout.splitlines() if ln[:4].isdigit()]) == 12, result.stdout  # the preset's horizon
        if command == "tollama list":
            assert "auto-ets:latest" in result.stdout
    assert "tollama run --input examples/series.csv --horizon 12" in ran
    assert "tollama create my-daily -f tsmodelfiles/daily-baseline.tsmodelfile" in ran
    assert "tollama create baseline-ensemble -f tsmodelfiles/baseline-ensemble.tsmodelfile" in ran


def test_readme_curl_body_through_the_api(server: dict[str, str]) -> None:
    readme = (ROOT / "README.md").read_text()
    body = json.loads(re.search(r"curl -s localhost:11435/api/forecast -d '(.*?)'", readme, flags=re.DOTALL).group(1))  # type: ignore[union-attr]
    assert body["model"] == "chronos-2"  # the README's model needs the chronos family: the same body on a baseline
    resp = httpx.post(f"http://127.0.0.1:{server['TOLLAMA_PORT']}/api/forecast", json={**body, "model": "auto-ets"}, timeout=120)
    assert resp.status_code == 200, resp.text
    out = resp.json()["forecasts"][0]
    assert out["id"] == "store-1" and len(out["mean"]) == body["horizon"]
    assert out["timestamps"][0] == "2024-11-30" and set(out["quantiles"]) == {"0.1", "0.5", "0.9"}


def test_show_of_a_created_model_says_what_it_is(server: dict[str, str]) -> None:
    created = run(server, "tollama create my-daily-show -f tsmodelfiles/daily-baseline.tsmodelfile")
    assert created.returncode == 0, created.stderr
    shown = run(server, "tollama show my-daily-show")
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    for wrong in ("None@", "quantiles []", "False", "True"):
        assert wrong not in text, text
    assert re.search(r"base\s+auto-ets \(created from auto-ets:latest\)", text), text
    assert re.search(r"weights\s+none: built in", text), text
    assert re.search(r"horizon\s+14\n", text) and re.search(r"season_length\s+7\n", text), text
    assert re.search(r"context_length\s+512\s+\(default of auto-ets\)", text), text
    assert re.search(r"quantiles\s+any level", text) and "answers" in text and "quantiles" in text.split("answers", 1)[1].splitlines()[0]
    assert re.search(r"quantile levels answered\s+0.1, 0.5, 0.9", text), text
    info = json.loads(run(server, "tollama show my-daily-show --json").stdout)["model_info"]
    assert (info["tollama.base"], info["tollama.parent"], info["tollama.builtin"]) == ("auto-ets", "auto-ets:latest", True)
    assert info["tollama.parameters"]["horizon"] == 14 and info["tollama.repo"] is None and info["tollama.revision"] is None


def test_float32_results_print_short(server: dict[str, str], tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{server['TOLLAMA_PORT']}/api/forecast"
    raw = httpx.post(url, json={"model": "naive", "horizon": 2, "series": [{"id": "a", "target": [1.1, 2.2, 3.3]}]}, timeout=60).text
    assert '"mean":[3.3,3.3]' in raw, raw
    csv = tmp_path / "one.csv"
    csv.write_text("id,timestamp,value\ns,2024-01-01,120.5\ns,2024-01-02,130.87\n")
    ran = run(server, f"tollama run naive --input {csv} --horizon 1 --json")
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["forecasts"][0]["mean"] == [130.87] and "130.87" in ran.stdout
