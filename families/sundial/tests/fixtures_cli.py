"""Fixtures for gateway-level tests and benchmarks, run with the sundial family environment's python.

The commands are the kit's (``tollama_kit.fixtures``). ``build`` writes a seeded random checkpoint in
the hub's layout with sktime's vendored Sundial classes: ``--size tiny`` (the default) or ``real``
(sundial-base-128m's dimensions). ``direct`` and ``time`` call the model class directly, the way its
model card shows it (see sundial_direct.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sundial_checkpoints
import sundial_direct
from tollama_kit.fixtures import Fixtures, main

FIXTURES = Fixtures(
    models=sorted(sundial_checkpoints.MODELS), sizes=("tiny", "real"),
    build=lambda model, out, size, seed: sundial_checkpoints.build(model, out, size=size, seed=seed),
    load=sundial_direct.load, run=sundial_direct.run,
)

if __name__ == "__main__":
    sys.exit(main(FIXTURES, description=__doc__))
