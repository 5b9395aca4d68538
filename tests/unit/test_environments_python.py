"""Per-family Python: which interpreter the environment builder hands to ``uv venv``."""

from __future__ import annotations

import sys
from pathlib import Path

from tollama.runtime.environments import DEFAULT_PYTHON, FamilySource, find_python


def _script(path: Path, exit_code: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\nexit {exit_code}\n")
    path.chmod(0o755)
    return path


def test_a_working_interpreter_on_the_path_is_used(tmp_path: Path) -> None:
    found = _script(tmp_path / "bin" / "python3.12", 0)
    assert find_python("3.12", search_path=str(tmp_path / "bin")) == str(found)


def test_a_shim_that_does_not_run_falls_through_to_pyenv_versions(tmp_path: Path) -> None:
    _script(tmp_path / "shims" / "python3.12", 127)  # a pyenv shim for a version not selected
    root = tmp_path / "pyenv"
    _script(root / "versions" / "3.12.1" / "bin" / "python3.12", 0)
    newest = _script(root / "versions" / "3.12.9" / "bin" / "python3.12", 0)
    _script(root / "versions" / "3.13.0" / "bin" / "python3.13", 0)
    assert find_python("3.12", search_path=str(tmp_path / "shims"), pyenv_roots=[root]) == str(newest)


def test_without_an_installed_interpreter_the_version_goes_to_uv(tmp_path: Path) -> None:
    assert find_python("3.12", search_path=str(tmp_path), pyenv_roots=[tmp_path / "none"]) == "3.12"


def test_the_family_declares_its_python(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.tollama]\npython = "3.12"\n')
    assert FamilySource("x", tmp_path).python == "3.12"
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert FamilySource("x", tmp_path).python == DEFAULT_PYTHON == f"{sys.version_info[0]}.11"


def test_the_repository_families_run_on_their_declared_python() -> None:
    root = Path(__file__).resolve().parents[2] / "families"
    for name in ("chronos", "toto", "tirex"):
        assert FamilySource(name, root / name).python == "3.11"
