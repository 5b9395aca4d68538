"""A family's manifest: how a family declares itself, once, in its own folder.

The manifest is data, so the gateway reads it without importing family code (this module imports
only msgspec and the standard library, like :mod:`tollama_kit.protocol`). It has two parts:

- ``[tool.tollama]`` in ``families/<name>/pyproject.toml``: the family's default model, how to
  recognise its checkpoints (rules on ``config.json``), capability defaults for its catalogue
  entries, where its typed options Struct lives, its Python version and torch pin::

      [tool.tollama]
      default_model = "toto-open-base-1.0"     # a registry.yaml entry of this family
      options = "tollama_toto.options:TotoOptions"
      torch = "2.13.0"                         # absent for torch-free families
      python = "3.11"                          # absent: 3.11

      [[tool.tollama.detect]]                  # config.json rules, most specific first
      key = "model_type"                       # the default key
      contains = "toto"                        # or equals = "...", or keys = ["a", "b"]
      model = "toto-open-base-1.0"             # absent: default_model

      [tool.tollama.capabilities]              # defaults for this family's registry entries
      missing_values = true

      [[tool.tollama.check]]                   # what the repository's gateway-level suites run
      model = "toto-open-base-1.0"
      tolerance = 1e-3                         # parity with the library called directly
      bench = "toto"                           # its row in bench/families.py

- ``families/<name>/options.json``: the JSON schema of the options Struct, generated from the
  Python type (``python scripts/gen_family_options.py``) and drift-tested, so the gateway knows
  which options a family honours without importing it.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import msgspec

OPTIONS_FILE = "options.json"
DEFAULT_PYTHON = "3.11"


class ManifestError(Exception):
    """A family's manifest is malformed (names the file and the field)."""


class DetectRule(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """One way a checkpoint's ``config.json`` says it belongs to this family.

    Exactly one of ``equals`` (the value of ``key`` is this string), ``contains`` (the lower-cased
    value of ``key`` contains this string) or ``keys`` (``config.json`` has all of these keys)."""

    key: str = "model_type"
    equals: str | None = None
    contains: str | None = None
    keys: list[str] = []
    model: str | None = None
    """The catalogue model an imported checkpoint gets; ``None``: the family's default model."""

    @property
    def exact(self) -> bool:
        """Exact rules (``equals``, ``keys``) are tried before ``contains`` rules across families."""
        return self.contains is None

    def matches(self, config: Mapping[str, Any]) -> bool:
        if self.keys:
            return set(self.keys) <= set(config)
        value = config.get(self.key)
        if value is None:
            return False
        if self.equals is not None:
            return str(value) == self.equals
        return self.contains is not None and self.contains.lower() in str(value).lower()


class Check(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """A catalogue model the repository's gateway-level suites and benchmarks run for this family, on a
    random checkpoint its ``tests/fixtures_cli.py build`` writes."""

    model: str
    tolerance: float = 1e-4
    """Parity tolerance of tollama against the library called directly (tests/integration)."""
    end_to_end: bool = True
    """Pulled and forecast through the gateway in tests/integration/test_families_end_to_end.py."""
    bench: str | None = None
    """Its row name in bench/families.py (real size, random weights); ``None``: not benchmarked."""
    freq: str | None = None
    """Sent with the benchmark's requests where the model reads it."""


class Manifest(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """``[tool.tollama]`` of one family, plus the option names its ``options.json`` lists."""

    name: str = ""
    root: str = ""
    default_model: str | None = None
    """The catalogue model a checkpoint of this family gets when no rule names one (``None``: none)."""
    options: str | None = None
    """``module:Struct`` of the typed options (read by the worker; the gateway reads ``options.json``)."""
    torch: str | None = None
    python: str = DEFAULT_PYTHON
    detect: list[DetectRule] = []
    capabilities: dict[str, Any] = {}
    check: list[Check] = []
    test_worker_path: str | None = None
    """Test-only: a folder (relative to the family's) that gateway-level tests put on a worker's
    ``PYTHONPATH`` (e.g. timesfm's tiny-architecture ``sitecustomize``)."""
    option_names: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for rule in self.detect:
            said = [rule.equals is not None, rule.contains is not None, bool(rule.keys)]
            if sum(said) != 1:
                raise msgspec.ValidationError("each detect rule needs exactly one of equals, contains or keys")


def _options_file(root: Path) -> frozenset[str]:
    path = root / OPTIONS_FILE
    if not path.is_file():
        return frozenset()
    try:
        schema = json.loads(path.read_text())
        return frozenset(schema["$defs"][schema["$ref"].rsplit("/", 1)[-1]]["properties"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ManifestError(f"{path}: not a JSON schema of an options Struct ({exc}); regenerate it with scripts/gen_family_options.py") from exc


def is_family(root: Path) -> bool:
    """A family folder: a pyproject with a ``[tool.tollama]`` table and an adapter package."""
    return (root / "pyproject.toml").is_file() and (root / "src" / f"tollama_{root.name}").is_dir()


def load(root: Path) -> Manifest:
    """The manifest of the family in folder ``root`` (its name is the folder's)."""
    path = root / "pyproject.toml"
    try:
        with path.open("rb") as fh:
            table = tomllib.load(fh).get("tool", {}).get("tollama")
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ManifestError(f"cannot read {path}: {exc}") from exc
    if table is None:
        raise ManifestError(f"{path}: no [tool.tollama] table (docs/families/README.md says what a family declares)")
    try:
        manifest = msgspec.convert(table, Manifest)
    except msgspec.ValidationError as exc:
        raise ManifestError(f"{path}: [tool.tollama]: {exc}") from exc
    return msgspec.structs.replace(manifest, name=root.name, root=str(root), option_names=_options_file(root))


def listed(manifests: Mapping[str, Manifest]) -> list[Manifest]:
    """The families the repository builds, tests and benchmarks: those that name a default model
    (a family folder still without catalogue entries is work in progress)."""
    return [m for m in manifests.values() if m.default_model is not None]


def discover(dirs: Iterable[Path]) -> dict[str, Manifest]:
    """Every family under ``dirs`` (folders holding family folders), the kit excluded.

    A family name found in two folders is an error: which one would serve is not obvious."""
    found: dict[str, Manifest] = {}
    for folder in dirs:
        if not folder.is_dir():
            continue
        for child in sorted(folder.iterdir()):
            if child.name == "kit" or not is_family(child):
                continue
            if child.name in found:
                raise ManifestError(f"family {child.name!r} is in two folders: {found[child.name].root} and {child}")
            found[child.name] = load(child)
    return found
