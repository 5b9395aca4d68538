"""Fixtures for gateway-level tests and benchmarks, run with the uni2ts environment's python.

The commands are the kit's (``tollama_kit.fixtures``). ``build`` writes a seeded, randomly
initialised checkpoint for MODEL in the hub's file layout (config.json, model.safetensors):
``--size tiny`` (the default) or ``real`` (the hub's dimensions). ``direct`` and ``time`` forecast
with uni2ts itself (its GluonTS predictor, see direct.py), not with the adapter. Registry names are
lower case (moirai-1.1-r-small); the hub spells them moirai-1.1-R-small: both are accepted.
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
    canonical=lambda name: {m.lower(): m for m in checkpoints.MODELS}.get(name.lower(), name),
    build=lambda model, out, size, seed: checkpoints.build(model, out, real_size=size == "real", seed=seed),
    load=direct.load, run=direct.forecast,
)

if __name__ == "__main__":
    sys.exit(main(FIXTURES, description=__doc__))
