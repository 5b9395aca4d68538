"""The newcomer's traps, as real ``tollama`` subprocesses: no traceback for a user error or a missing
tool, runtime installs where the server looks and only after asking, and ``tollama doctor``."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, RUNTIMES, family_python, refused_port, tollama_server

SERIES = ROOT / "examples" / "series.csv"

#: One invocation of every command (arguments that parse; the setting fails first).
EVERY_COMMAND = [["serve"], ["pull", "naive"], ["list"], ["show", "naive"], ["create", "x", "-f", "TSModelfile"], ["rm", "x"],
                 ["cp", "a", "b"], ["info"], ["ps"], ["stop", "x"], ["run", "--input", str(SERIES)], ["runtime", "list"],
                 ["settings"], ["doctor"]]


def cli(env: dict[str, str], *args: str, stdin: int | None = subprocess.DEVNULL, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tollama", *args], env=env, stdin=stdin, capture_output=True, text=True, timeout=timeout, check=False)


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), proc.stderr
    return lines[0]


@pytest.fixture
def no_uv(tmp_path: Path) -> dict[str, str]:
    """An environment where uv cannot be found: no uv package importable, none on PATH."""
    shim = tmp_path / "shim"
    (shim / "uv").mkdir(parents=True)
    (shim / "uv" / "__init__.py").write_text("")  # a uv without find_uv_bin: `from uv import find_uv_bin` fails
    return {**os.environ, "PYTHONPATH": str(shim), "PATH": "/usr/bin:/bin", "TOLLAMA_HOME": str(tmp_path / "home"),
            "TOLLAMA_RUNTIMES": str(tmp_path / "runtimes")}


BAD_SETTINGS = [
    (["serve"], "TOLLAMA_RUNTIME", "kubernetes", "one of auto, docker, process, static"),
    (["serve"], "TOLLAMA_KEEP_ALIVE", "soon", "a duration"),
    (["serve"], "TOLLAMA_GPUS", "gpu0", "is not a GPU id"),
    *((argv, "TOLLAMA_PORT", "eleven", "an integer port from 0 to 65535") for argv in EVERY_COMMAND),
]


@pytest.mark.parametrize(("argv", "variable", "value", "accepted"), BAD_SETTINGS, ids=[f"{a[0]}-{v}" for a, v, _, _ in BAD_SETTINGS])
def test_a_bad_setting_is_one_line_and_exit_2(argv: list[str], variable: str, value: str, accepted: str, tmp_path: Path) -> None:
    proc = cli({**os.environ, "TOLLAMA_HOME": str(tmp_path), variable: value}, *argv, timeout=60)
    assert proc.returncode == 2
    line = one_error_line(proc)
    assert f"{variable}={value!r}" in line and accepted in line, line  # the variable, the value, what is accepted


def test_runtime_install_without_uv_says_what_to_install(no_uv: dict[str, str]) -> None:
    proc = cli(no_uv, "runtime", "install", "baseline", timeout=60)
    assert proc.returncode == 5
    assert "needs uv" in one_error_line(proc) and "pip install uv" in proc.stderr


def test_doctor_fails_without_uv_and_docker(no_uv: dict[str, str]) -> None:
    with refused_port() as server_port, refused_port() as hub_port:
        env = {**no_uv, "TOLLAMA_RUNTIME": "docker", "DOCKER_HOST": f"unix://{no_uv['TOLLAMA_HOME']}/no-docker.sock",
               "TOLLAMA_PORT": str(server_port), "HF_ENDPOINT": f"http://127.0.0.1:{hub_port}"}
        proc = cli(env, "doctor", timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = {ln.split()[1]: ln for ln in proc.stdout.splitlines() if ln.startswith(("pass ", "warn ", "fail "))}
    assert lines["uv"].startswith("fail") and "fix: " in lines["uv"]
    assert lines["docker"].startswith("fail") and "docker engine" in lines["docker"]
    assert lines["server"].startswith("warn") and "tollama serve" in lines["server"]
    assert lines["hub"].startswith("warn")
    as_json = json.loads(cli(env, "doctor", "--json", timeout=120).stdout)
    assert as_json["status"] == "fail" and {c["check"] for c in as_json["checks"] if c["status"] == "fail"} == {"uv", "docker engine"}


@pytest.fixture(scope="module")
def bare_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], Path]]:
    """A real server whose runtimes folder is empty (no family installed), and that folder."""
    family_python("baseline")
    runtimes = tmp_path_factory.mktemp("server-runtimes")
    with tollama_server(tmp_path_factory.mktemp("server-home"), TOLLAMA_RUNTIMES=str(runtimes)) as env:
        yield env, runtimes


def client_env(server_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The CLI's own settings point elsewhere: it must learn the server's runtimes folder from the server."""
    env = {k: v for k, v in server_env.items() if k != "TOLLAMA_RUNTIMES"}
    return {**env, "TOLLAMA_HOME": str(tmp_path / "cli-home")}


def test_run_without_a_terminal_never_asks_and_names_the_command(bare_server: tuple[dict[str, str], Path], tmp_path: Path) -> None:
    server, runtimes = bare_server
    proc = cli(client_env(server, tmp_path), "run", "--input", str(SERIES), "--horizon", "3")
    assert proc.returncode == 5
    line = one_error_line(proc)
    assert f"TOLLAMA_RUNTIMES={runtimes} tollama runtime install baseline" in line and "--yes" in line, line
    assert not (tmp_path / "cli-home").exists() and list(runtimes.iterdir()) == []


def test_eof_at_the_prompt_answers_no(bare_server: tuple[dict[str, str], Path], tmp_path: Path) -> None:
    server, runtimes = bare_server
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "tollama", "run", "--input", str(SERIES), "--horizon", "3"],
                                env=client_env(server, tmp_path), stdin=follower, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        os.write(leader, b"\x04")  # Ctrl-D: end of input at the [Y/n] prompt
        _, err = proc.communicate(timeout=120)
    finally:
        os.close(leader)
        os.close(follower)
    assert proc.returncode == 5, err
    assert "Traceback" not in err and "[Y/n]" in err
    errors = [ln for ln in err.splitlines() if ln.startswith("Error: ")]
    assert len(errors) == 1 and "was not installed" in errors[0], err
    assert list(runtimes.iterdir()) == []


@pytest.mark.slow
def test_run_yes_installs_where_the_server_looks_once(bare_server: tuple[dict[str, str], Path], tmp_path: Path) -> None:
    server, runtimes = bare_server
    env = client_env(server, tmp_path)
    proc = cli(env, "run", "--input", str(SERIES), "--horizon", "3", "--yes", timeout=900)
    assert proc.returncode == 0, proc.stderr
    assert f"installing the baseline runtime (cpu) into {runtimes}" in proc.stderr
    assert proc.stderr.count("installing the baseline runtime") == 1
    assert (runtimes / "baseline-cpu" / "bin" / "python").exists() and not (tmp_path / "cli-home" / "runtimes").exists()
    assert proc.stdout.startswith("series mauna-loa-co2")
    doctor = cli(env, "doctor", "--json", timeout=120)
    checks = {c["check"]: c for c in json.loads(doctor.stdout)["checks"]}
    assert checks["runtime baseline"]["status"] == "pass" and str(runtimes) in checks["runtime baseline"]["detail"]
    assert checks["runtime chronos"]["status"] == "warn" and f"TOLLAMA_RUNTIMES={runtimes}" in checks["runtime chronos"]["fix"]
    assert checks["server"]["status"] == "pass"
    assert doctor.returncode == 1  # the other families are not installed: warnings


def test_a_closed_pipe_exits_quietly(tmp_path: Path) -> None:
    family_python("baseline")
    with tollama_server(tmp_path / "home", TOLLAMA_RUNTIMES=str(RUNTIMES)) as env:
        proc = subprocess.Popen([sys.executable, "-m", "tollama", "run", "--input", str(SERIES), "--horizon", "48"],
                                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # `| head` that has already left
        err = proc.stderr.read().decode()
        proc.wait(timeout=120)
    assert proc.returncode == 141, err
    assert err == "", err
