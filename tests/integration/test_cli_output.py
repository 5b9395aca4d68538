"""What the ``tollama`` CLI prints (rich renderers, plots) against a real server with the baselines."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import family_python, tollama_cli, tollama_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    family_python("baseline")
    with tollama_server(tmp_path_factory.mktemp("home")) as env:
        yield env


def tollama(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return tollama_cli(env, *args, timeout=300)


def test_ps_until_stop_and_format(server: dict[str, str], tmp_path: Path) -> None:
    data = tmp_path / "y.json"
    data.write_text("[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]")
    ran = tollama(server, "run", "seasonal-naive", "--input", str(data), "--horizon", "3", "--keep-alive", "10m")
    assert ran.returncode == 0, ran.stderr
    ps = tollama(server, "ps")
    assert ps.returncode == 0, ps.stderr
    header, *rows = ps.stdout.splitlines()
    assert header.split() == ["NAME", "ID", "FAMILY", "DEVICE", "SIZE", "UNTIL"]
    row = next(r for r in rows if r.startswith("seasonal-naive:latest"))
    assert row.endswith(("9 minutes from now", "10 minutes from now")), row
    stopped = tollama(server, "stop", "seasonal-naive")
    assert stopped.returncode == 0 and stopped.stdout == "stopped 'seasonal-naive:latest'\n", (stopped.stdout, stopped.stderr)
    again = tollama(server, "stop", "seasonal-naive")
    assert again.returncode == 0 and again.stdout == "" and "was not loaded" in again.stderr
    tags = httpx.get(f"http://127.0.0.1:{server['TOLLAMA_PORT']}/api/tags").json()["models"]
    assert tags and {m["details"]["format"] for m in tags} == {"builtin"}
