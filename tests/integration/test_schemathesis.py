"""schemathesis against the live gateway's OpenAPI document, with all its checks, and zero failures.

A real ``tollama serve`` with the baseline family (:func:`baseline_server`) serves ``/schema/openapi.json``;
schemathesis' CLI generates requests from it (the examples, coverage and fuzzing phases: valid and invalid
bodies, query strings and media types) and checks every answer: no server error, a documented status, a
documented content type and headers, a body matching the response schema, invalid data refused, valid data
accepted (or refused with a documented 4xx: tests/integration/schemathesis.toml says why). The seed is fixed
and the examples per operation are bounded, so the run is repeatable and short.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = 5
SEED = 20261202


@pytest.mark.slow
def test_schemathesis_finds_no_failure(baseline_server: dict[str, str], tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{baseline_server['TOLLAMA_PORT']}/schema/openapi.json"
    st = Path(sys.executable).with_name("st")
    command = [str(st), "--config-file", str(CONFIG), "--no-color", "run", url, "--checks", "all",
               "--phases", "examples,coverage,fuzzing", "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED),
               "--generation-database", "none", "--workers", "2", "--request-timeout", "60", "--report-dir", str(tmp_path)]
    t0 = time.monotonic()
    proc = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False, cwd=tmp_path,
                          env={**os.environ, "SCHEMATHESIS_HOOKS": ""})
    took = time.monotonic() - t0
    summary = proc.stdout[-6000:]
    assert proc.returncode == 0, f"schemathesis failed after {took:.0f} s:\n{summary}\n{proc.stderr[-2000:]}"
    assert "29/29" in proc.stdout or "Tested:" in proc.stdout, summary
