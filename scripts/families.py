"""The repository's families, from their manifests (families/*/pyproject.toml ``[tool.tollama]``):
``python scripts/families.py`` prints their names, space separated (the justfile's ``families``).

The one source of the family lists: the justfile, the end-to-end tests' cases and the family
benchmark all read the manifests through ``tollama_kit.manifest``; nothing else lists families.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "families" / "kit" / "src"))

from tollama_kit.manifest import discover, listed  # noqa: E402


def names(families_dir: Path = ROOT / "families") -> list[str]:
    return [m.name for m in listed(discover([families_dir]))]


if __name__ == "__main__":
    print(" ".join(names()))
