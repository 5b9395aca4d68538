"""Fixtures for gateway-level tests and benchmarks, run with the tirex family environment's python.

The commands are the kit's (``tollama_kit.fixtures``). ``build`` writes a seeded random checkpoint
in the hub's layout (config.json + model.safetensors): ``--size tiny`` (the default) or ``real``
(full-size dimensions, see tirex_checkpoints.py). ``direct`` and ``time`` forecast with tirex-2's
own ``ForecastModel`` (see tirex_direct.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import tirex_checkpoints
import tirex_direct
from tollama_kit.fixtures import Fixtures, main

FIXTURES = Fixtures.of(tirex_checkpoints, tirex_direct)

if __name__ == "__main__":
    sys.exit(main(FIXTURES, description=__doc__))
