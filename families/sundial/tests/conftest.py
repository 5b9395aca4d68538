"""Session fixtures: one tiny random checkpoint, one loaded adapter, real data sets.

torch runs single-threaded here: on a small shared CPU, OpenMP's spinning threads make the
tiny model's matrix products 50x slower than one thread does (measured: 8.5 s vs 0.16 s for
three forecasts). ``OMP_NUM_THREADS`` overrides it.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pytest
import torch

torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

import sundial_checkpoints  # noqa: E402
from tollama_kit.adapter import Loaded  # noqa: E402
from tollama_sundial.adapter import SundialAdapter, create_adapter  # noqa: E402

MODEL = sundial_checkpoints.MODEL


@pytest.fixture(scope="session")
def tiny_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sundial_checkpoints.build(MODEL, tmp_path_factory.mktemp("sundial-tiny"))


@pytest.fixture(scope="session")
def adapter() -> SundialAdapter:
    return create_adapter()


@pytest.fixture(scope="session")
def loaded(adapter: SundialAdapter, tiny_ckpt: Path) -> Loaded:
    return adapter.load(MODEL, str(tiny_ckpt), "cpu", {})


@pytest.fixture(scope="session")
def co2() -> np.ndarray:
    """statsmodels' weekly Mauna Loa CO2 (2,284 points), NaNs linearly interpolated."""
    from statsmodels.datasets import co2

    return co2.load_pandas().data["co2"].interpolate().to_numpy(np.float32)


@pytest.fixture(scope="session")
def airline() -> np.ndarray:
    """sktime's Airline passengers (monthly, 144 points)."""
    from sktime.datasets import load_airline

    return load_airline().to_numpy(np.float32)


@pytest.fixture(scope="session")
def macrodata() -> dict[str, np.ndarray]:
    """statsmodels' quarterly US macro data (203 rows): real GDP and candidate covariates."""
    from statsmodels.datasets import macrodata

    frame = macrodata.load_pandas().data
    return {col: frame[col].to_numpy(np.float32) for col in ("realgdp", "realcons", "realinv", "unemp", "infl")}
