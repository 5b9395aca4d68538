"""Fixtures for gateway-level tests and benchmarks, run with the granite environment's python.

The commands are the kit's (``tollama_kit.fixtures``). ``build`` writes a seeded, randomly
initialised TinyTimeMixer for any registry variant (granite-ttm-r2, granite-ttm-r2-<ctx>-<h>), or a
FlowState (granite-flowstate-r1.1) or PatchTST-FM (granite-patchtst-fm-r1) checkpoint:
``--size tiny`` (the default) or ``real`` (the hub's dimensions). ``direct`` and ``time`` forecast
with granite-tsfm called directly (see direct.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import checkpoints
import direct
from tollama_granite.variants import VARIANTS
from tollama_kit.fixtures import Fixtures, main

FIXTURES = Fixtures(
    models=sorted(VARIANTS) + list(checkpoints.MODELS), sizes=("tiny", "real"),
    build=lambda model, out, size, seed: checkpoints.build(model, out, seed=seed, size=size),
    load=direct.load, run=direct.run,
)

if __name__ == "__main__":
    sys.exit(main(FIXTURES, description=__doc__))
