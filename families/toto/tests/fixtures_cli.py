"""Fixtures for gateway-level tests and benchmarks, run with the toto family environment's python.

The commands are the kit's (``tollama_kit.fixtures``). ``build`` writes a seeded random checkpoint
in the hub's layout (config.json + model.safetensors): ``--size tiny`` (the default) or ``real``
(Toto-Open-Base-1.0's dimensions). ``direct`` and ``time`` forecast with Toto's own forecaster
(see toto_direct.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import toto_checkpoints
import toto_direct
from tollama_kit.fixtures import Fixtures, main

FIXTURES = Fixtures.of(toto_checkpoints, toto_direct)

if __name__ == "__main__":
    sys.exit(main(FIXTURES, description=__doc__))
