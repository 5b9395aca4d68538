"""Session fixtures: one tiny random checkpoint, the tiny architecture patch, real data sets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from . import checkpoints
from . import tiny_architecture as testing_patch

MODEL = "timesfm-2.5-200m"


@pytest.fixture(scope="session", autouse=True)
def tiny_architecture() -> Iterator[None]:
    """Every load in this session sees the shrunk TimesFM 2.5 definition (tests opt out with
    ``testing_patch.patched(tiny=False)``); the upstream one is restored afterwards."""
    testing_patch.apply()
    yield
    testing_patch.restore()


@pytest.fixture(scope="session")
def tiny_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return checkpoints.build(MODEL, tmp_path_factory.mktemp("timesfm-tiny"))


@pytest.fixture(scope="session")
def co2() -> np.ndarray:
    """statsmodels' weekly Mauna Loa CO2 (2,284 points), NaNs linearly interpolated."""
    from statsmodels.datasets import co2

    return co2.load_pandas().data["co2"].interpolate().to_numpy(np.float32)


@pytest.fixture(scope="session")
def macro() -> dict[str, np.ndarray]:
    """statsmodels' quarterly US macrodata (203 quarters): a target and covariates."""
    from statsmodels.datasets import macrodata

    df = macrodata.load_pandas().data
    return {
        "realinv": df["realinv"].to_numpy(np.float32),
        "realgdp": df["realgdp"].to_numpy(np.float32),
        "unemp": df["unemp"].to_numpy(np.float32),
        "quarter": np.array([f"Q{int(q)}" for q in df["quarter"]], dtype=object),
    }
