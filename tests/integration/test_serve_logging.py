"""``tollama serve`` logs as its settings say: the access line is JSON under ``TOLLAMA_LOG_FORMAT=json``
and absent under ``TOLLAMA_LOG_LEVEL=warning``. (Litestar's default logging config once replaced
tollama's handler in the real server: every access line came out in Litestar's own text format, at
INFO whatever the level, through a queue thread that cost ~1.8 ms per request.)"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _serve_and_read(home: Path, **env: str) -> list[str]:
    """Start ``tollama serve``, make two requests (one carrying an id), stop it; its output lines."""
    full = {**os.environ, "TOLLAMA_PORT": "0", "TOLLAMA_HOME": str(home), "TOLLAMA_RUNTIME": "process", **env}
    log = home / "serve.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "tollama", "serve"], env=full, stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not (found := re.search(r"listening on http://[^:\s]+:(\d+)", log.read_text())):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        port = int(found.group(1))
        httpx.get(f"http://127.0.0.1:{port}/api/tags", headers={"X-Request-ID": "trace-42"}, timeout=30).raise_for_status()
        assert httpx.get(f"http://127.0.0.1:{port}/api/nothing-here", timeout=30).status_code == 404
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return log.read_text().splitlines()


def test_json_format_reaches_the_access_line(tmp_path: Path) -> None:
    lines = _serve_and_read(tmp_path, TOLLAMA_LOG_LEVEL="info", TOLLAMA_LOG_FORMAT="json")
    records = [json.loads(line) for line in lines if line.startswith("{")]
    access = [r for r in records if r.get("logger") == "tollama.access"]
    assert [(r["method"], r["path"], r["status"]) for r in access] == [("GET", "/api/tags", 200), ("GET", "/api/nothing-here", 404)]
    assert access[0]["request_id"] == "trace-42" and len(access[1]["request_id"]) == 32
    assert not [line for line in lines if "tollama.access" in line and not line.startswith("{")]


def test_warning_level_writes_no_access_line(tmp_path: Path) -> None:
    lines = _serve_and_read(tmp_path, TOLLAMA_LOG_LEVEL="warning", TOLLAMA_LOG_FORMAT="text")
    assert not [line for line in lines if "tollama.access" in line or "/api/tags" in line]
