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


def test_run_plot_draws_the_returned_band(server: dict[str, str], tmp_path: Path) -> None:
    import json
    import re

    csv = tmp_path / "two.csv"
    csv.write_text("id,timestamp,value\n" + "".join(f"{sid},2024-01-{d:02d},{base + d % 4}\n" for sid, base in (("a", 10), ("b", 100)) for d in range(1, 29)))
    args = ("run", "auto-ets", "--input", str(csv), "--horizon", "5", "--quantiles", "0.1,0.9")
    plotted = tollama(server, *args, "--plot")
    assert plotted.returncode == 0, plotted.stderr
    resp = json.loads(tollama(server, *args, "--json").stdout)
    panels = plotted.stdout.split("\n\n")
    for f, history in zip(resp["forecasts"], ([10 + d % 4 for d in range(1, 29)], [100 + d % 4 for d in range(1, 29)]), strict=True):
        panel = next(p for p in panels if f"{f['id']}  2024-01-29 … 2024-02-02" in p)
        ticks = [float(m.group(1)) for line in panel.splitlines() if (m := re.match(r"^\s*(-?[\d.]+)┤", line))]
        top = max(*history, *f["quantiles"]["0.9"])
        bottom = min(*history, *f["quantiles"]["0.1"])
        assert abs(max(ticks) - top) <= 0.06 * (top - bottom) and abs(min(ticks) - bottom) <= 0.06 * (top - bottom), (ticks, top, bottom)
    assert "\x1b[" not in plotted.stdout
