"""Session fixtures: snapshots for every model, one worker app holding all of them, real data sets."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from litestar.testing import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))

from checkpoints import MODELS, build_checkpoint
from tollama_baseline.adapter import create_adapter
from tollama_kit import protocol as wire
from tollama_kit.server import create_worker_app


@pytest.fixture(scope="session")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("snapshots")
    return {model: build_checkpoint(model, root / model) for model in MODELS}


@pytest.fixture(scope="session")
def worker(snapshots: dict[str, Path]) -> Iterator[TestClient[Any]]:
    """The real worker app with every baseline model loaded under its own name as key."""
    with TestClient(create_worker_app(create_adapter())) as client:
        for model, path in snapshots.items():
            req = wire.LoadRequest(key=model, name=model, path=str(path), device="cpu")
            resp = client.post("/v1/load", content=wire.encode(req), headers={"content-type": wire.CONTENT_TYPE})
            assert resp.status_code == 200, resp.content
        yield client


@pytest.fixture(scope="session")
def airline() -> np.ndarray:
    """sktime's Airline passengers (monthly, 144 points), read from the CSV sktime ships."""
    spec = importlib.util.find_spec("sktime")
    assert spec is not None and spec.submodule_search_locations
    csv = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "Airline" / "Airline.csv"
    values = np.loadtxt(csv, delimiter=",", skiprows=1, usecols=1, dtype=np.float64)
    assert values.shape == (144,)
    return values


@pytest.fixture(scope="session")
def co2() -> np.ndarray:
    """statsmodels' weekly Mauna Loa CO2 (2,284 points), NaNs linearly interpolated."""
    from statsmodels.datasets import co2 as co2_data

    series = co2_data.load_pandas().data["co2"]
    assert series.isna().any()
    return series.interpolate().to_numpy(np.float64)


@pytest.fixture(scope="session")
def macrodata() -> Any:
    """statsmodels' quarterly US macro data (203 rows, many numeric columns)."""
    from statsmodels.datasets import macrodata as macro

    return macro.load_pandas().data
