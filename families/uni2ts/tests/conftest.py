"""Session fixtures: tiny checkpoints (built once), real data sets, a worker app client."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import checkpoints


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread() -> None:
    # The test machines are small and shared: intra-op threads fighting over 2 cores made
    # a tiny Moirai 1.x forecast 10x slower. Production sets this through OMP_NUM_THREADS.
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], str]:
    """``checkpoint(model)`` → directory of that model's tiny checkpoint (built once)."""
    root = tmp_path_factory.mktemp("uni2ts-checkpoints")
    built: dict[str, str] = {}

    def get(model: str) -> str:
        if model not in built:
            built[model] = str(checkpoints.build(model, root / model))
        return built[model]

    return get


@pytest.fixture(scope="session")
def co2() -> np.ndarray:
    """statsmodels' weekly Mauna Loa CO2 (2,284 points), NaNs interpolated."""
    import statsmodels.api as sm

    data = sm.datasets.co2.load_pandas().data["co2"]
    return data.interpolate().to_numpy(dtype=np.float32)


@pytest.fixture(scope="session")
def co2_raw() -> np.ndarray:
    """The same series with its real gaps (NaN) kept."""
    import statsmodels.api as sm

    return sm.datasets.co2.load_pandas().data["co2"].to_numpy(dtype=np.float32)


@pytest.fixture(scope="session")
def macro() -> Any:
    """statsmodels' quarterly US macro data (203 rows): realgdp, realcons, unemp, infl, ..."""
    import statsmodels.api as sm

    return sm.datasets.macrodata.load_pandas().data


@pytest.fixture(scope="session")
def worker() -> Iterator[Any]:
    """The real worker app (protocol v1, MessagePack) around the uni2ts adapter."""
    from litestar.testing import TestClient
    from tollama_kit.server import create_worker_app
    from tollama_uni2ts.adapter import create_adapter

    with TestClient(create_worker_app(create_adapter())) as client:
        yield client
