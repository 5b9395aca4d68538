"""The check that every response the test suite sees carries a code of the one error table.

``tests/conftest.py`` runs it on every response of every httpx client (Litestar's test client
and tollama's own client included); ``tests/unit/test_error_table.py`` shows it can fail.
"""

from __future__ import annotations

import json

import httpx
from tollama.errors import STATUS


def stream_line_problem(line: str) -> str | None:
    """Why one NDJSON line breaks the stream error shape ``{"status": "error", "error", "code"}``, or None."""
    try:
        event = json.loads(line)
    except ValueError:
        return None
    if isinstance(event, dict) and "error" in event and (event.get("status") != "error" or event.get("code") not in STATUS):
        return f"stream error line outside the table: {line}"
    return None


#: The host of Litestar's ``TestClient``: every response from it is the gateway's (or a worker app's).
_TEST_HOST = "testserver.local"


def error_code_problem(resp: httpx.Response) -> str | None:
    """Why ``resp`` breaks the one error table, or None.

    A gateway error (any JSON body with ``error`` and ``code``, and any error status from the
    in-process test client) must carry a code of :data:`tollama.errors.STATUS` with that code's
    status; an NDJSON stream's error line must be ``{"status": "error", "error": ..., "code": ...}``.
    """
    kind = resp.headers.get("content-type", "")
    if "json" not in kind:
        return None
    try:
        text = resp.text
    except httpx.ResponseNotRead:
        return None
    if "ndjson" in kind:
        for line in filter(None, (ln.strip() for ln in text.splitlines())):
            if (problem := stream_line_problem(line)) is not None:
                return problem
        return None
    try:
        body = json.loads(text) if text else None
    except ValueError:
        return None
    ours = resp.request.url.host == _TEST_HOST
    if isinstance(body, dict) and "error" in body and "code" in body:
        code = body["code"]
        if code not in STATUS:
            return f"code {code!r} is not in the error table"
        if ours and resp.status_code != STATUS[code]:
            return f"code {code!r} answered {resp.status_code}, the table says {STATUS[code]}"
    elif ours and resp.status_code >= 400 and resp.request.url.path.startswith(("/api", "/schema", "/metrics", "/health")):
        return f"HTTP {resp.status_code} without an error code: {text[:200]}"
    return None


