"""TEST-ONLY: on a timesfm worker's ``PYTHONPATH``, start the interpreter with TimesFM 2.5's
architecture shrunk (``tests/tiny_architecture.py``), so that the worker loads tiny random checkpoints.
Gateway-level tests put this folder there (``tiny_architecture.WORKER_PATH``); nothing else does. An
interpreter without timesfm (the gateway, another family's worker) is left as it is."""

import importlib.util
import sys
from pathlib import Path

if importlib.util.find_spec("timesfm") is not None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import tiny_architecture

    tiny_architecture.apply()
