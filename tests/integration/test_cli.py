"""The ``tollama`` CLI against a real ``tollama serve`` process and a local hub."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import build_checkpoint, co2, family_python, refused_port, tollama_cli, tollama_server
from hubserver import HubServer
from tollama.registry import Registry
from tollama.settings import Settings

MODEL = "chronos-bolt-tiny"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    family_python("chronos")
    entry = Registry.load(Settings().registry_file).get(MODEL)
    assert entry is not None and entry.repo
    files = build_checkpoint("chronos", MODEL, tmp_path_factory.mktemp("ckpt"))
    with HubServer(repos={entry.repo: {entry.revision: files}}) as server:
        yield server


@pytest.fixture(scope="module")
def server(hub: HubServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with tollama_server(tmp_path_factory.mktemp("home"), hub.endpoint) as env:
        yield env


def tollama(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return tollama_cli(env, *args, timeout=timeout)


def test_pull_shows_progress_and_lands_in_list(server: dict[str, str]) -> None:
    pulled = tollama(server, "pull", MODEL, "--no-install-runtime")
    assert pulled.returncode == 0, pulled.stderr
    for status in ("pulling manifest", "pulling ", "verifying sha256 digest", "writing manifest", "success"):
        assert status in pulled.stderr
    assert "100%" in pulled.stderr
    listed = tollama(server, "list")
    assert listed.stdout.splitlines()[0].split() == ["NAME", "ID", "SIZE", "MODIFIED"]
    tags = httpx.get(f"http://127.0.0.1:{server['TOLLAMA_PORT']}/api/tags").json()["models"]
    digest = next(m["digest"] for m in tags if m["name"] == f"{MODEL}:latest")
    row = next(line for line in listed.stdout.splitlines() if line.startswith(f"{MODEL}:latest"))
    assert row.split()[1] == digest[:12]


def test_run_prints_a_forecast_table(server: dict[str, str], tmp_path: Path) -> None:
    values, dates = co2(200)
    csv = tmp_path / "co2.csv"
    csv.write_text("id,timestamp,value\n" + "".join(f"co2,{d},{v}\n" for d, v in zip(dates, values, strict=True)))
    ran = tollama(server, "run", MODEL, "--input", str(csv), "--horizon", "6")
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[0].startswith(f"series co2  ({MODEL}:latest, chronos on cpu")
    assert lines[1].split() == ["timestamp", "mean", "q0.1", "q0.5", "q0.9"]
    assert len([ln for ln in lines if ln[:4].isdigit()]) == 6
    as_json = tollama(server, "run", MODEL, "--input", str(csv), "--horizon", "6", "--json")
    assert '"forecasts"' in as_json.stdout


def test_run_defaults_to_a_baseline_with_nothing_pulled(tmp_path: Path) -> None:
    family_python("baseline")
    with tollama_server(tmp_path / "home") as env:
        data = tmp_path / "y.json"
        data.write_text("[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]")
        ran = tollama(env, "run", "--input", str(data), "--horizon", "3")
        assert ran.returncode == 0, ran.stderr
        assert "auto-ets:latest, baseline on cpu" in ran.stdout
        # A preset, created then run: its horizon (14) and quantiles come from the TSModelfile.
        preset = Path(__file__).resolve().parents[2] / "tsmodelfiles" / "daily-baseline.tsmodelfile"
        created = tollama(env, "create", "my-daily", "-f", str(preset))
        assert created.returncode == 0 and "success" in created.stderr, created.stderr
        daily = tmp_path / "daily.csv"
        daily.write_text("timestamp,value\n" + "".join(f"2024-01-{d:02d},{10 + d % 7}\n" for d in range(1, 29)))
        ran = tollama(env, "run", "my-daily", "--input", str(daily))
        assert ran.returncode == 0, ran.stderr
        lines = ran.stdout.splitlines()
        assert lines[1].split() == ["timestamp", "mean", "q0.1", "q0.5", "q0.9"]
        assert [ln.split()[0] for ln in lines[2:16]] == [f"2024-01-{d}" for d in range(29, 32)] + [f"2024-02-{d:02d}" for d in range(1, 12)]
        shown = tollama(env, "show", "my-daily", "--modelfile")
        assert "PARAM horizon 14" in shown.stdout and "FROM auto-ets:latest" in shown.stdout


def test_exit_codes(server: dict[str, str]) -> None:
    missing = tollama(server, "show", "nosuch-model")
    assert missing.returncode == 4 and "not found" in missing.stderr
    hostile = tollama(server, "show", "../etc")
    assert hostile.returncode == 1 and "invalid model name" in hostile.stderr
    with refused_port() as port:
        down = tollama({**server, "TOLLAMA_PORT": str(port)}, "list")
    assert down.returncode == 3 and "tollama serve" in down.stderr
    settings = tollama(server, "settings")
    assert "TOLLAMA_KEEP_ALIVE" in settings.stdout and "5m" in settings.stdout
