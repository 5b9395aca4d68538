"""toto-2 in the toto2 environment (Python 3.12): the upstream library works offline on a tiny random model.

Not yet the family's suite: the adapter, the kit's contract suite and parity come with the adapter
(docs/families/toto2.md). This checks what they will rest on: ``Toto2Model.save_pretrained`` writes
the hub layout, ``Toto2Model.from_pretrained(dir)`` loads it back exactly, and ``forecast`` returns
the nine quantile knots for a real series (statsmodels co2).
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _toto2() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gluonts' json-module notice and torch deprecations at import
        import toto2
    return toto2


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    import torch

    toto2 = _toto2()
    torch.set_num_threads(1)
    config = toto2.Toto2ModelConfig(
        patch_size=16, d_model=64, num_heads=4, num_layers=4, layer_group_size=2,
        num_variate_layers_per_group=1, variate_layer_first=False,
        residual_attn_ratio=toto2.Toto2ModelConfig.compute_residual_attn_ratio(512, 16),
    )
    torch.manual_seed(0)
    model = toto2.Toto2Model(config)
    out = tmp_path_factory.mktemp("toto2-tiny")
    model.save_pretrained(out)
    return out, model


def test_runs_on_python_3_12() -> None:
    assert sys.version_info[:2] == (3, 12)


def test_the_hub_layout_loads_back_exactly(checkpoint: tuple[Path, Any]) -> None:
    out, model = checkpoint
    assert {"config.json", "model.safetensors"} <= {p.name for p in out.iterdir()}
    loaded = _toto2().Toto2Model.from_pretrained(str(out))
    theirs = loaded.state_dict()
    assert set(theirs) == set(model.state_dict())
    for key, tensor in model.state_dict().items():
        assert theirs[key].equal(tensor), key


def test_forecast_gives_nine_ordered_levels_on_co2(checkpoint: tuple[Path, Any]) -> None:
    import torch
    from statsmodels.datasets import co2

    values = co2.load_pandas().data["co2"].interpolate().to_numpy(np.float32)[-512:]
    model = _toto2().Toto2Model.from_pretrained(str(checkpoint[0]))
    y = torch.from_numpy(values)[None, None]
    inputs = {"target": y, "target_mask": torch.ones_like(y, dtype=torch.bool), "series_ids": torch.zeros(1, 1, dtype=torch.long)}
    q = model.forecast(inputs, 24).numpy()
    assert q.shape == (9, 1, 1, 24)
    assert np.isfinite(q).all()
    shorter = model.forecast({k: v[..., -128:] if v.ndim == 3 else v for k, v in inputs.items()}, 24).numpy()
    assert not np.allclose(q, shorter), "the context is read"
