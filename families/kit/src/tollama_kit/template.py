"""A new family from the template: ``python -m tollama_kit.template NAME DEST_DIR``.

Writes ``DEST_DIR/NAME/`` with everything a family consists of (docs/families/README.md): its
pyproject with the ``[tool.tollama]`` manifest, an options Struct and its generated ``options.json``,
an adapter, and lock files (the kit's own, ``families/kit/requirements.lock``: the template adds no
dependency). Its one model, ``NAME-last``, forecasts the last observed value of each target (a
builtin: no weights), which is what the registry entry :func:`registry_entry` describes. Replace the
adapter with calls into your library, add its pins, recompile the locks, and add its registry entries.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
from pathlib import Path

import msgspec

KIT_LOCK = Path(__file__).resolve().parents[2] / "requirements.lock"

_PYPROJECT = '''[project]
name = "tollama-{name}"
version = "0.1.0"
description = "tollama family {name} (from the kit's template): forecasts the last observed value."
requires-python = ">=3.11"
dependencies = []

[tool.tollama]
default_model = "{name}-last"
options = "tollama_{name}.options:Options"

[[tool.tollama.detect]]
contains = "{name}"

[tool.tollama.capabilities]
max_context = 4096
max_horizon = 512
missing_values = true

[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[tool.hatch.build.targets.wheel]
packages = ["src/tollama_{name}"]
'''

_OPTIONS = '''"""The forecast options of the {name} family (the kit converts the wire options into this Struct)."""

from __future__ import annotations

from typing import Annotated

import msgspec


class Options(msgspec.Struct, frozen=True, kw_only=True):
    context_length: Annotated[int, msgspec.Meta(ge=1)] | None = None
'''

_ADAPTER = '''"""The {name} family's adapter: the last observed value of each target, for every step and level."""

from __future__ import annotations

import numpy as np
from tollama_kit.adapter import ForecastInput, ForecastOutput, Loaded, Options, SeriesOutput
from tollama_kit.errors import BadInput
from tollama_kit.options import parse_options

from tollama_{name}.options import Options as FamilyOptions


class LastValueAdapter:
    family = "{name}"

    def describe(self) -> dict[str, str]:
        return {{"numpy": np.__version__}}

    def load(self, name: str, path: str, device: str, options: Options) -> Loaded:
        return Loaded(handle=name, device="cpu")

    def unload(self, loaded: Loaded) -> None:
        loaded.handle = None

    def forecast(self, loaded: Loaded, batch: ForecastInput) -> ForecastOutput:
        opts = parse_options(batch.options, FamilyOptions)
        out = []
        for s in batch.series:
            rows = s.target[:, -opts.context_length:] if opts.context_length else s.target
            last = np.empty(s.n_targets, dtype=np.float32)
            for v, row in enumerate(rows):
                seen = row[np.isfinite(row)]
                if not seen.size:
                    raise BadInput(f"series {{s.id!r}}: target row {{v}} has no observed value")
                last[v] = seen[-1]
            mean = np.repeat(last[:, None], batch.horizon, axis=1)
            out.append(SeriesOutput(id=s.id, mean=mean, quantiles=np.repeat(mean[None], len(batch.quantiles), axis=0)))
        return ForecastOutput(series=out)


def create_adapter() -> LastValueAdapter:
    return LastValueAdapter()
'''


def registry_entry(name: str) -> str:
    """The ``registry.yaml`` entry (YAML, under ``models:``) of the template's one model."""
    return (f"  {name}-last:\n    family: \"{name}\"\n    description: \"the last observed value (template family)\"\n"
            "    license: \"apache-2.0\"\n    builtin: true\n    capabilities: {}\n")


def _options_schema(root: Path, name: str) -> str:
    """``options.json`` as scripts/gen_family_options.py writes it."""
    spec = importlib.util.spec_from_file_location(f"_tollama_template_{name}_options", root / "src" / f"tollama_{name}" / "options.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # msgspec resolves the annotations through the module's globals
    try:
        spec.loader.exec_module(module)
        return json.dumps(msgspec.json.schema(module.Options), indent=2, sort_keys=True) + "\n"
    finally:
        del sys.modules[spec.name]


def create(name: str, dest: Path) -> Path:
    """Write the family ``name`` into ``dest/name``; returns the family folder."""
    if not re.fullmatch(r"[a-z][a-z0-9]*", name):
        raise ValueError(f"a family name is lower-case letters and digits, starting with a letter; got {name!r}")
    root = dest / name
    if root.exists():
        raise FileExistsError(f"{root} exists")
    package = root / "src" / f"tollama_{name}"
    package.mkdir(parents=True)
    (root / "pyproject.toml").write_text(_PYPROJECT.format(name=name))
    (package / "__init__.py").write_text(f'"""tollama family {name} (from the kit\'s template)."""\n')
    (package / "options.py").write_text(_OPTIONS.format(name=name))
    (package / "adapter.py").write_text(_ADAPTER.format(name=name))
    (root / "options.json").write_text(_options_schema(root, name))
    lock = KIT_LOCK.read_text()
    for variant in ("cpu", "cuda", "test"):
        (root / f"requirements-{variant}.lock").write_text(lock)
    return root


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tollama_kit.template", description=__doc__.splitlines()[0])
    parser.add_argument("name")
    parser.add_argument("dest", type=Path)
    args = parser.parse_args(argv)
    print(create(args.name, args.dest))
    print("its registry entry:\n" + registry_entry(args.name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
