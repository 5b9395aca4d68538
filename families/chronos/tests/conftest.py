"""Session fixtures: tiny checkpoints (built once), real data sets, and a worker app per model."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import checkpoints

#: One checkpoint per pipeline class; the registry names pick the class.
MODELS = {"t5": "chronos-t5-tiny", "bolt": "chronos-bolt-small", "chronos2": "chronos-2"}


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread() -> None:
    # The test machines are small and shared: one intra-op thread is several times faster
    # there than torch's default (a test-environment choice, not something the adapter does).
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session", autouse=True)
def _onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    # Exported ONNX graphs go to a per-session directory, never the user's cache.
    os.environ["TOLLAMA_ONNX_CACHE"] = str(tmp_path_factory.mktemp("onnx-cache"))


@pytest.fixture(scope="session")
def ckpts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """kind -> checkpoint directory (tiny random weights, hub file layout), built once per session."""
    root = tmp_path_factory.mktemp("chronos-ckpts")
    return {kind: str(checkpoints.build(name, root / name)) for kind, name in MODELS.items()}


@pytest.fixture(scope="session")
def co2() -> np.ndarray:
    import statsmodels.api as sm

    series = sm.datasets.co2.load_pandas().data["co2"]
    assert series.isna().any(), "co2 ships with gaps; the interpolation below must matter"
    return series.interpolate().to_numpy(np.float32)


@pytest.fixture(scope="session")
def macro() -> Any:
    import statsmodels.api as sm

    return sm.datasets.macrodata.load_pandas().data


@pytest.fixture(scope="session")
def workers(ckpts: dict[str, str]) -> Iterator[dict[str, Any]]:
    """kind -> a TestClient on the real worker app with that kind's checkpoint loaded as key ``kind``."""
    from litestar.testing import TestClient
    from tollama_chronos.adapter import create_adapter
    from tollama_kit import protocol as wire
    from tollama_kit.server import create_worker_app

    clients: dict[str, Any] = {}
    with TestClient(create_worker_app(create_adapter())) as client:
        for kind, path in ckpts.items():
            req = wire.LoadRequest(key=kind, name=MODELS[kind], path=path, device="cpu")
            resp = client.post("/v1/load", content=wire.encode(req), headers={"content-type": wire.CONTENT_TYPE})
            assert resp.status_code == 200, resp.content
            clients[kind] = client
        yield clients
