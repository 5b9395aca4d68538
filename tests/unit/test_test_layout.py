"""The suite's own layout: ``pytest tests`` (what CI runs) imports test modules by their basename
(rootdir-relative, no packages), so two test files with one name in different folders stop the
whole run at collection. Each folder's run alone does not show it; this does."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_no_two_test_modules_share_a_name() -> None:
    seen: dict[str, list[str]] = defaultdict(list)
    for path in TESTS.rglob("*.py"):
        if path.name.startswith("test_") or path.name == "conftest.py":
            seen[path.name].append(str(path.relative_to(TESTS)))
    clashes = {name: paths for name, paths in seen.items() if len(paths) > 1 and name != "conftest.py"}
    assert not clashes, f"test modules with one name in two folders (rename one): {clashes}"
