"""Build a family's environment from its lock files: ``python scripts/family_env.py FAMILY [--tests]``.

A thin wrapper over ``tollama.runtime.environments.install`` for development before the
CLI exists; prints the environment's path. Environments go to ``$TOLLAMA_HOME/runtimes``
(default ``.cache/tollama-home/runtimes`` in the checkout).
"""

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "gateway" / "src"))

from tollama.runtime.environments import family_sources, install  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("family")
    parser.add_argument("--tests", action="store_true", help="also install requirements-test.lock")
    parser.add_argument("--variant", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args()
    home = Path(os.environ.get("TOLLAMA_HOME", ROOT / ".cache" / "tollama-home"))
    sources = family_sources(ROOT / "families")
    path = install(sources[args.family], ROOT / "families" / "kit", home / "runtimes", variant=args.variant,
                   tests=args.tests, log=lambda m: print("+", m, file=sys.stderr))
    print(path)


if __name__ == "__main__":
    main()
