"""Write each family's ``options.json`` from its typed options Struct: ``python scripts/gen_family_options.py [--check]``.

A family names its Struct in its manifest (``[tool.tollama] options = "module:Struct"``); the module
imports only msgspec (and the kit), so this runs in the gateway's environment. The gateway reads the
generated file (which options a family honours) and never imports family code. ``--check`` exits 1
when a file is missing or differs (the unit suite runs it: tests/unit/test_family_manifests.py).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "families" / "kit" / "src"))

from tollama_kit.manifest import OPTIONS_FILE, Manifest, discover  # noqa: E402


def options_type(manifest: Manifest) -> type[msgspec.Struct]:
    """The Struct ``manifest.options`` names, imported from the family's own source folder."""
    assert manifest.options is not None
    module_name, _, attr = manifest.options.partition(":")
    src = str(Path(manifest.root) / "src")
    if src not in sys.path:
        sys.path.insert(0, src)
    kind = getattr(importlib.import_module(module_name), attr)
    if not (isinstance(kind, type) and issubclass(kind, msgspec.Struct)):
        raise TypeError(f"{manifest.name}: {manifest.options} is not a msgspec Struct")
    return kind


def render(manifest: Manifest) -> str:
    schema = msgspec.json.schema(options_type(manifest))
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def stale(dirs: list[Path]) -> dict[Path, str]:
    """The ``options.json`` files that differ from their Struct, with the text they should hold."""
    out = {}
    for manifest in discover(dirs).values():
        if manifest.options is None:
            continue
        path = Path(manifest.root) / OPTIONS_FILE
        text = render(manifest)
        if not path.is_file() or path.read_text() != text:
            out[path] = text
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report drift, write nothing")
    parser.add_argument("dirs", nargs="*", type=Path, default=[ROOT / "families"], help="folders of families")
    args = parser.parse_args()
    drift = stale(args.dirs)
    for path, text in drift.items():
        if args.check:
            print(f"{path} is stale: run python scripts/gen_family_options.py", file=sys.stderr)
        else:
            path.write_text(text)
            print(f"wrote {path}")
    return 1 if args.check and drift else 0


if __name__ == "__main__":
    sys.exit(main())
