"""Fixtures for gateway-level tests and benchmarks, run with the toto2 family environment's python.

The commands are the kit's (``tollama_kit.fixtures``). ``build`` writes a seeded random checkpoint
in the hub's layout (config.json + model.safetensors): ``--size tiny`` (the default) or ``real``
(a 22M-parameter model, see toto2_checkpoints.py). ``direct`` and ``time`` forecast with toto-2's
own ``Toto2Model.forecast`` (see toto2_direct.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import toto2_checkpoints
import toto2_direct
from tollama_kit.fixtures import Fixtures, main

FIXTURES = Fixtures(
    models=sorted(toto2_checkpoints.MODELS), sizes=tuple(toto2_checkpoints.SIZES),
    build=lambda model, out, size, seed: toto2_checkpoints.build(model, out, seed=seed, size=size),
    load=toto2_direct.load, run=toto2_direct.run,
)

if __name__ == "__main__":
    sys.exit(main(FIXTURES, description=__doc__))
