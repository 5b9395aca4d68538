"""Session fixtures: tiny checkpoints built once, real data sets, the adapter."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from checkpoints import build


@pytest.fixture(scope="session", autouse=True)
def _onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    # Exported ONNX graphs go to a per-session directory, never the user's cache.
    os.environ["TOLLAMA_ONNX_CACHE"] = str(tmp_path_factory.mktemp("onnx-cache"))


@pytest.fixture(scope="session")
def ckpt_512_96(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(build("granite-ttm-r2", tmp_path_factory.mktemp("granite-ttm-r2")))


@pytest.fixture(scope="session")
def adapter():
    from tollama_granite.adapter import create_adapter

    return create_adapter()


@pytest.fixture(scope="session")
def loaded(adapter, ckpt_512_96):
    return adapter.load("granite-ttm-r2", ckpt_512_96, "cpu", {})


@pytest.fixture(scope="session")
def co2() -> np.ndarray:
    import statsmodels.api as sm

    series = sm.datasets.co2.load_pandas().data["co2"]
    return series.interpolate().bfill().to_numpy(np.float32)  # weekly, 2,284 points, NaNs interpolated


@pytest.fixture(scope="session")
def airline() -> np.ndarray:
    # sktime ships the file; reading it directly avoids importing sktime (slow, and not needed).
    spec = importlib.util.find_spec("sktime")
    assert spec is not None and spec.submodule_search_locations
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "Airline" / "Airline.csv"
    return pd.read_csv(path)["Passengers"].to_numpy(np.float32)  # monthly, 144 points


@pytest.fixture(scope="session")
def macro() -> pd.DataFrame:
    import statsmodels.api as sm

    return sm.datasets.macrodata.load_pandas().data  # quarterly, 203 rows
