"""Session fixtures for the toto family tests: one tiny checkpoint, one worker app, real data sets
(the shared parts are the kit's, ``tollama_kit.testing``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import toto_checkpoints
from tollama_kit import testing

MODEL = toto_checkpoints.MODEL


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread() -> None:
    testing.one_torch_thread()


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(toto_checkpoints.build(MODEL, tmp_path_factory.mktemp("toto-tiny")))


@pytest.fixture(scope="session")
def worker(checkpoint: str) -> Iterator[Any]:
    """The real worker app (protocol v1, MessagePack) with the tiny checkpoint loaded as key ``toto``."""
    from tollama_toto.adapter import create_adapter

    with testing.loaded_worker(create_adapter(), "toto", MODEL, checkpoint) as client:
        yield client


@pytest.fixture(scope="session")
def co2() -> np.ndarray:
    return testing.co2_weekly()


@pytest.fixture(scope="session")
def macro() -> dict[str, np.ndarray]:
    return testing.us_macro()
