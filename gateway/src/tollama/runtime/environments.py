"""Family runtime environments: one virtual environment per family and variant.

Built from the family's own lock files (compiled requirement files with hashes)::

    <runtimes>/<family>-<variant>/        the venv (written as <name>.partial, renamed when complete)
        tollama-env.json                   what was installed, from which lock digest

Console scripts inside the venv carry the build-time path in their shebang: always run
``<env>/bin/python -m …``.

Steps: create the venv with the family's Python (``[tool.tollama] python``, default 3.11: an
interpreter found on ``PATH`` or under pyenv, else the version itself, which uv resolves and, on a
machine without one, downloads); install the family's pinned torch (CPU variant: the CPU build,
taken from ``PIP_FIND_LINKS`` / ``torch_index_url`` where given; CUDA variant: torch
comes from the CUDA lock itself); install the lock with ``--require-hashes``; install the
kit and the family adapter without dependencies. Never run inside a forecast request.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tollama_kit.manifest import is_family

from ..errors import RuntimeNotInstalled

Variant = Literal["cpu", "cuda"]
ENV_FILE = "tollama-env.json"
DEFAULT_PYTHON = "3.11"


class EnvironmentError_(Exception):  # noqa: N801 - avoid shadowing the builtin name
    """A family environment could not be built or found."""


@dataclass(frozen=True)
class FamilySource:
    name: str
    root: Path

    @property
    def pyproject(self) -> dict:  # type: ignore[type-arg]
        with (self.root / "pyproject.toml").open("rb") as fh:
            return tomllib.load(fh)

    @property
    def torch_pin(self) -> str | None:
        """The torch version this family's CPU variant installs (``[tool.tollama] torch``)."""
        value = self.pyproject.get("tool", {}).get("tollama", {}).get("torch")
        return str(value) if value else None

    @property
    def python(self) -> str:
        """The Python version this family's environments use (``[tool.tollama] python``, e.g. ``"3.12"``)."""
        value = self.pyproject.get("tool", {}).get("tollama", {}).get("python")
        return str(value) if value else DEFAULT_PYTHON

    def lock(self, variant: Variant, *, tests: bool = False) -> Path:
        name = "requirements-test.lock" if tests else f"requirements-{variant}.lock"
        path = self.root / name
        if not path.is_file():
            raise EnvironmentError_(f"family {self.name!r} has no {name} in {self.root}")
        return path


def family_sources(*families_dirs: Path) -> dict[str, FamilySource]:
    """Every family folder (one with an adapter package) under ``families_dirs``, kit excluded
    (``Settings.family_roots``); a family name in two folders is an error."""
    found: dict[str, FamilySource] = {}
    for families_dir in families_dirs:
        if families_dir.is_dir():
            for child in sorted(families_dir.iterdir()):
                if child.name == "kit" or not is_family(child):
                    continue
                if child.name in found:
                    raise EnvironmentError_(f"family {child.name!r} is in two folders: {found[child.name].root} and {child}")
                found[child.name] = FamilySource(child.name, child)
    return found


def env_dir(runtimes_dir: Path, family: str, variant: Variant = "cpu") -> Path:
    return runtimes_dir / f"{family}-{variant}"


def env_python(path: Path) -> Path:
    return path / "bin" / "python"


def installed(runtimes_dir: Path) -> dict[str, dict]:  # type: ignore[type-arg]
    """Installed environments, keyed by directory name, with their ``tollama-env.json``."""
    out = {}
    if runtimes_dir.is_dir():
        for child in sorted(runtimes_dir.iterdir()):
            meta = child / ENV_FILE
            if meta.is_file():
                out[child.name] = json.loads(meta.read_text())
    return out


def _digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def lock_digest(source: FamilySource, variant: Variant = "cpu", *, tests: bool = False) -> str:
    """The digest an environment built now from ``source``'s locks records (``tollama-env.json``)."""
    locks = [source.lock(variant)] + ([source.lock(variant, tests=True)] if tests else [])
    return _digest(*locks, source.root / "pyproject.toml")



def _runs(path: str) -> bool:
    try:
        return subprocess.run([path, "-c", "pass"], capture_output=True, check=False, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def find_python(version: str, *, search_path: str | None = None, pyenv_roots: Iterable[Path] = ()) -> str:
    """An interpreter for ``version`` (``"3.12"``): ``python3.12`` on the search path when it runs (a
    pyenv shim for a version not selected does not), else one under a pyenv root's ``versions/``, else
    ``version`` itself for uv to resolve (uv downloads a managed Python where none is installed)."""
    name = f"python{version}"
    found = shutil.which(name, path=search_path)
    if found and _runs(found):
        return found
    for root in pyenv_roots:
        for candidate in sorted((root / "versions").glob(f"{version}.*/bin/{name}"), reverse=True):
            if _runs(str(candidate)):
                return str(candidate)
    return version


def _pyenv_roots(env: dict[str, str]) -> list[Path]:
    roots = [Path(env["PYENV_ROOT"])] if env.get("PYENV_ROOT") else []
    return [*roots, Path.home() / ".pyenv"]


def find_uv() -> list[str]:
    """The uv that builds environments: the one installed with tollama (a dependency), else one on PATH."""
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found,unused-ignore]

        return [find_uv_bin()]
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found:
            return [found]
    raise RuntimeNotInstalled(
        "building a family environment needs uv, which is installed with tollama; "
        "reinstall tollama (pip install tollama) or put uv on PATH (pip install uv)"
    )


def install(
    source: FamilySource,
    kit_root: Path,
    runtimes_dir: Path,
    *,
    variant: Variant = "cpu",
    tests: bool = False,
    torch_index_url: str | None = None,
    python: str | None = None,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Build (or rebuild when its locks changed) the family's environment; return its path.

    ``python``: the interpreter (a path or a version for uv); default: :func:`find_python` for the
    family's ``[tool.tollama] python``."""
    target = env_dir(runtimes_dir, source.name, variant)
    locks = [source.lock(variant)] + ([source.lock(variant, tests=True)] if tests else [])
    digest = lock_digest(source, variant, tests=tests)
    meta_path = target / ENV_FILE
    if meta_path.is_file():
        meta = json.loads(meta_path.read_text())
        if meta.get("lock_digest") == digest:
            return target
    say = log or (lambda _msg: None)
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    runtimes_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if env.get("PIP_FIND_LINKS") and not env.get("UV_FIND_LINKS"):
        env["UV_FIND_LINKS"] = env["PIP_FIND_LINKS"]
    py = str(env_python(partial))
    interpreter = python or find_python(source.python, search_path=env.get("PATH"), pyenv_roots=_pyenv_roots(env))

    def run(*args: str) -> None:
        say(" ".join(args))
        proc = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout)[-2000:]
            raise EnvironmentError_(f"building the {source.name} environment failed at `{' '.join(args[:4])} …`:\n{tail}")

    try:
        run(*find_uv(), "venv", "--quiet", "--python", interpreter, str(partial))
        if variant == "cpu" and source.torch_pin:
            extra = ["--index-url", torch_index_url] if torch_index_url else []
            # Byte-code at install (here and below): with PYTHONDONTWRITEBYTECODE set, as on CI
            # machines, torch's modules would otherwise be compiled again at every worker start
            # (measured: `import torch` 2.2 times slower without).
            run(*find_uv(), "pip", "install", "--quiet", "--compile-bytecode", "--python", py, f"torch=={source.torch_pin}", *extra)
        for lk in locks:
            # --no-deps: a lock is complete, and re-resolving would trip over the upstream torch
            # pins that the family deliberately overrides (the CPU torch is installed above).
            run(*find_uv(), "pip", "install", "--quiet", "--compile-bytecode", "--python", py, "--require-hashes", "--no-deps", "-r", str(lk))
        # Editable: the adapter code is read from the source tree, so adapter edits need no rebuild.
        run(*find_uv(), "pip", "install", "--quiet", "--python", py, "--no-deps", "-e", str(kit_root), "-e", str(source.root))
        (partial / ENV_FILE).write_text(
            json.dumps({"family": source.name, "variant": variant, "python": source.python, "lock_digest": digest,
                        "tests": tests}, indent=2)
        )
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target


def remove(runtimes_dir: Path, family: str, variant: Variant = "cpu") -> bool:
    target = env_dir(runtimes_dir, family, variant)
    if not target.exists():
        return False
    shutil.rmtree(target)
    return True
