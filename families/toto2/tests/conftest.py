"""Session fixtures for the toto2 family tests: one tiny checkpoint, one worker app, real data sets."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import toto2_checkpoints

MODEL = toto2_checkpoints.MODEL


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread() -> None:
    # The test machine's two cores are shared: two intra-op threads make every call several times slower.
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(toto2_checkpoints.build(MODEL, tmp_path_factory.mktemp("toto2-tiny")))


@pytest.fixture(scope="session")
def worker(checkpoint: str) -> Iterator[Any]:
    """The real worker app (protocol v1, MessagePack) with the tiny checkpoint loaded as key ``toto2``."""
    from litestar.testing import TestClient
    from tollama_kit import protocol as wire
    from tollama_kit.server import create_worker_app
    from tollama_toto2.adapter import create_adapter

    with TestClient(create_worker_app(create_adapter())) as client:
        req = wire.LoadRequest(key="toto2", name=MODEL, path=checkpoint, device="cpu")
        resp = client.post("/v1/load", content=wire.encode(req), headers={"content-type": wire.CONTENT_TYPE})
        assert resp.status_code == 200, resp.content
        yield client


@pytest.fixture(scope="session")
def co2() -> np.ndarray:
    """statsmodels' weekly co2 (Mauna Loa), NaNs interpolated, last 512 weeks."""
    from statsmodels.datasets import co2 as dataset

    return dataset.load_pandas().data["co2"].interpolate().to_numpy(np.float32)[-512:]


@pytest.fixture(scope="session")
def macro() -> dict[str, np.ndarray]:
    """statsmodels' quarterly US macrodata (203 quarters), a few columns."""
    from statsmodels.datasets import macrodata

    data = macrodata.load_pandas().data
    return {c: data[c].to_numpy(np.float32) for c in ("realgdp", "realcons", "realinv", "unemp", "realint", "cpi")}
