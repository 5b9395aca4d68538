"""Fixtures for gateway-level tests and benchmarks; run with the chronos family environment's python.

The commands are the kit's (``tollama_kit.fixtures``). ``build --size tiny`` (the default) writes a
seeded, randomly initialised checkpoint for any registry model (chronos-t5-*, chronos-bolt-*,
chronos-2) in the hub's file layout; ``--size real`` uses the hub's network dimensions, recorded
for chronos-bolt-small. ``direct`` and ``time`` call chronos-forecasting's pipeline directly.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import checkpoints
import direct
from tollama_kit.fixtures import Fixtures, main

FIXTURES = Fixtures(
    models=checkpoints.MODELS, sizes=("tiny", "real"),
    build=lambda model, out, size, seed: checkpoints.build(model, out, seed=seed, size=size),
    load=direct.load, run=direct.run,
)

if __name__ == "__main__":
    sys.exit(main(FIXTURES, description=__doc__))
