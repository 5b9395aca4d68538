"""Integration fixtures: real family environments, real worker processes, a local hub.

Family environments are built by ``just runtimes-for-tests`` (CI does) into
``$TOLLAMA_HOME/runtimes``. A missing one fails the run under CI and skips it locally.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from serve_port import listening_port
from tollama_kit.manifest import Manifest, discover, listed

ROOT = Path(__file__).resolve().parents[2]
RUNTIMES = Path(os.environ.get("TOLLAMA_HOME", ROOT / ".cache" / "tollama-home")) / "runtimes"


def worker_test_env(manifest: Manifest) -> dict[str, str]:
    """The extra worker environment a family's gateway-level tests need (its manifest's ``test_worker_path``)."""
    return {"PYTHONPATH": str(Path(manifest.root) / manifest.test_worker_path)} if manifest.test_worker_path else {}


def manifest_cases() -> list[tuple[str, str, float, dict[str, str]]]:
    """``(family, model, tolerance, worker env)`` for every end-to-end check the family manifests declare."""
    return [(m.name, c.model, c.tolerance, worker_test_env(m))
            for m in listed(discover([ROOT / "families"])) for c in m.check if c.end_to_end]


#: The worker environment that starts a timesfm worker with the tiny test architecture
#: (families/timesfm/tests/tiny_architecture.py; the product has no such hook).
TIMESFM_TINY = worker_test_env(discover([ROOT / "families"])["timesfm"])


def family_python(family: str) -> Path:
    python = RUNTIMES / f"{family}-cpu" / "bin" / "python"
    if not python.exists():
        message = f"the {family} environment is missing ({python}); run `just runtimes-for-tests`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return python


def fixtures_cli(family: str, *args: str, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    """Run ``families/<family>/tests/fixtures_cli.py`` with the family's own python."""
    proc = subprocess.run(
        [str(family_python(family)), str(ROOT / "families" / family / "tests" / "fixtures_cli.py"), *args],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT, env={**os.environ, **(env or {})}, check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(f"fixtures_cli {family} {args[0]} failed:\n{proc.stderr[-3000:]}")
    return proc.stdout


def build_checkpoint(family: str, model: str, out: Path) -> dict[str, bytes]:
    """Build a tiny checkpoint with the family's own library; return its files for the test hub."""
    fixtures_cli(family, "build", model, str(out))
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def direct_forecast(family: str, model: str, ckpt: Path, request: dict[str, Any], tmp: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    req, out = tmp / f"{model}-request.json", tmp / f"{model}-direct.json"
    req.write_text(json.dumps(request))
    fixtures_cli(family, "direct", model, str(ckpt), str(req), str(out), env=env)
    return json.loads(out.read_text())  # type: ignore[no-any-return]


def co2(n: int = 512) -> tuple[list[float], list[str]]:
    """statsmodels' weekly co2 (NaNs interpolated), the last ``n`` points with their dates."""
    from statsmodels.datasets import co2 as data

    s = data.load_pandas().data["co2"].interpolate()
    s = s.iloc[-n:]
    return [float(v) for v in s.to_numpy()], [t.strftime("%Y-%m-%d") for t in s.index]


@dataclass
class Hub:
    repos: dict[str, dict[str, dict[str, bytes]]]


@pytest.fixture(scope="session")
def statsmodels_co2() -> tuple[list[float], list[str]]:
    return co2()


def assert_close(a: Any, b: Any, *, rtol: float = 1e-4, atol: float = 1e-4, what: str = "") -> None:
    np.testing.assert_allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), rtol=rtol, atol=atol, err_msg=what)


@contextmanager
def refused_port() -> Iterator[int]:
    """A loopback port that refuses connections while the block runs: bound, never listening (no race)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield int(s.getsockname()[1])


@contextmanager
def tollama_server(home: Path, hub_endpoint: str | None = None, **extra_env: str) -> Iterator[dict[str, str]]:
    """A real ``tollama serve`` process (process runtime) on a port the OS gives it (``TOLLAMA_PORT=0``: no
    free-port race; the server reports the port it bound); yields the CLI's environment."""
    env = {**os.environ, "TOLLAMA_PORT": "0", "TOLLAMA_HOME": str(home), "TOLLAMA_RUNTIMES": str(RUNTIMES),
           "TOLLAMA_RUNTIME": "process", "TOLLAMA_LOG_LEVEL": "warning", **extra_env}
    if hub_endpoint:
        env["HF_ENDPOINT"] = hub_endpoint
    proc = subprocess.Popen([sys.executable, "-m", "tollama", "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        port = listening_port(proc)
        env["TOLLAMA_PORT"] = str(port)
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=10).text == "tollama is running"
        yield env
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def tollama_cli(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tollama", *args], env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="session")
def baseline_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """One real ``tollama serve`` with the baseline family, shared by the interop doors' tests."""
    family_python("baseline")
    with tollama_server(tmp_path_factory.mktemp("baseline-home")) as env:
        yield env
