"""Fixtures for gateway-level tests and benchmarks, run with the baseline family's python.

The commands are the kit's (``tollama_kit.fixtures``). A baseline "checkpoint" is a directory
holding a config.json that names the model (no weights): every size is the real one.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import direct
from checkpoints import MODELS, build_checkpoint
from tollama_kit.fixtures import Fixtures, main

FIXTURES = Fixtures(
    models=MODELS, build=lambda model, out, size, seed: build_checkpoint(model, out),
    load=direct.load, run=direct.run, sizes=("real",),
)

if __name__ == "__main__":
    sys.exit(main(FIXTURES, description=__doc__))
