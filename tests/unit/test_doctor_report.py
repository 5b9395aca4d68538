"""``tollama doctor``'s report: the worst status decides the exit code; --json carries every check."""

from __future__ import annotations

import json

import pytest
from tollama.cli.doctor import Check, report


@pytest.mark.parametrize(("statuses", "code"), [(["pass", "pass"], 0), (["pass", "warn"], 1), (["warn", "fail", "pass"], 2)])
def test_exit_code_is_the_worst_status(statuses: list[str], code: int) -> None:
    checks = [Check(f"c{i}", s, "detail", "the fix") for i, s in enumerate(statuses)]  # type: ignore[arg-type]
    out: list[str] = []
    assert report(checks, as_json=False, write=out.append) == code
    lines = "".join(out).splitlines()
    for check, line in zip(checks, lines, strict=False):
        assert line.split()[:2] == [check.status, check.check]
        assert ("fix: the fix" in line) == (check.status != "pass")
    blob: list[str] = []
    assert report(checks, as_json=True, write=blob.append) == code
    data = json.loads("".join(blob))
    assert data["status"] == max(statuses, key=["pass", "warn", "fail"].index)
    assert [c["status"] for c in data["checks"]] == statuses
