"""Session fixtures for the toto family tests: one tiny checkpoint, one worker app, real data sets
(built by the kit's ``tollama_kit.testing.session_fixtures``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import toto_checkpoints
from tollama_kit import testing

MODEL = toto_checkpoints.MODEL


def _adapter() -> Any:
    from tollama_toto.adapter import create_adapter

    return create_adapter()


_one_torch_thread, checkpoint, worker, co2, macro = testing.session_fixtures("toto", MODEL, toto_checkpoints.build, _adapter)
