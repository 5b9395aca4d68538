"""bench/load.py keeps working: a brief run with a few clients against a gateway it starts."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT, family_python


def test_load_bench_runs_briefly_without_errors() -> None:
    family_python("baseline")
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "load.py"), "--clients", "4", "--seconds", "3", "--warmup", "1", "--json"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["requests_ok"] > 0 and result["errors"] == {}
    assert {"forecast naive", "tags"} <= set(result["kinds"])
    assert result["memory_start"]["gateway_mb"] > 0 and result["memory_start"]["workers_mb"] > 0
