"""Fixtures for gateway-level tests and benchmarks, run with the timesfm family environment's python.

The commands are the kit's (``tollama_kit.fixtures``). ``build --size tiny`` (the default) writes a
seeded, randomly initialised checkpoint with the class's dimensions shrunk; ``--size real`` writes
the 925 MB upstream layout at full size. ``direct`` and ``time`` call timesfm directly
(see tests/direct.py).

A worker that must LOAD a tiny checkpoint needs ``tests/tiny_worker`` on its ``PYTHONPATH``
(see tests/tiny_architecture.py); ``direct`` detects tiny checkpoints itself.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: make `tests` importable as a package next to this file.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    __package__ = "tests"

from tollama_kit.fixtures import Fixtures, main

from tests import checkpoints, direct

FIXTURES = Fixtures(
    models=checkpoints.MODELS, sizes=("tiny", "real"),
    build=lambda model, out, size, seed: checkpoints.build(model, out, size=size, seed=seed),
    load=direct.load, run=direct.run,
)

if __name__ == "__main__":
    sys.exit(main(FIXTURES, description=__doc__))
