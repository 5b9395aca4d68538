"""The toto2 family against its upstream library (toto-2), on a tiny random checkpoint built at test time.

Run: ``<toto2 env>/bin/python -m pytest families/toto2/tests -q`` from the repository root.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import toto2_checkpoints
import toto2_direct
from tollama_kit import protocol as wire
from tollama_kit import testing
from tollama_kit.adapter import ForecastInput, SeriesInput
from tollama_kit.contract import ContractCase, WorkerContract
from tollama_kit.errors import BadInput, LoadFailed
from tollama_toto2.adapter import create_adapter
from tollama_toto2.inputs import MAX_HORIZON

MODEL = toto2_checkpoints.MODEL
QUANTILES = [0.1, 0.5, 0.9]
PATCH = toto2_checkpoints.TINY["patch_size"]


# -- helpers (the kit's: tollama_kit.testing) ----------------------------------------------------
CALLS = testing.WorkerCalls("toto2", QUANTILES)
_post, _forecast, _error, _assert_same = CALLS.post, CALLS.forecast, testing.worker_error, testing.assert_same
_direct = testing.DirectCalls(MODEL, toto2_direct.load, toto2_direct.run, QUANTILES)


def _wire_series(sid: str, target: np.ndarray, **covariates: Any) -> wire.Series:
    return testing.wire_series(sid, target, **covariates)


# -- the kit's contract -----------------------------------------------------------------------
class TestToto2Contract(WorkerContract):
    @pytest.fixture(scope="class")
    @classmethod
    def contract_case(cls, checkpoint: str) -> ContractCase:
        return ContractCase(adapter_factory=create_adapter, name=MODEL, path=checkpoint, horizon=12, context=64)


# -- parity with the library called directly ---------------------------------------------------
def test_co2_matches_the_library_called_directly(worker: Any, checkpoint: str, co2: np.ndarray) -> None:
    ours, warnings = _forecast(worker, [_wire_series("co2", co2)], 24)
    theirs = _direct(checkpoint, [{"id": "co2", "target": [co2.tolist()]}], 24)
    _assert_same(ours[0], theirs[0])
    assert warnings == []
    # Not a tautology: a shorter context gives another forecast, and the forecast is on the data's scale.
    shorter = _direct(checkpoint, [{"id": "co2", "target": [co2[-100:].tolist()]}], 24)
    assert not np.allclose(ours[0]["mean"], shorter[0]["mean"], rtol=1e-4)
    assert abs(float(np.median(ours[0]["mean"])) - float(co2[-52:].mean())) < 3 * float(co2.std())


def test_co2_matches_the_librarys_own_gluonts_predictor(worker: Any, checkpoint: str, co2: np.ndarray) -> None:
    """An independent path: toto-2's GluonTS predictor cuts, fills and pads the series itself."""
    import pandas as pd
    import toto2

    horizon, context = 16, 31 * PATCH  # a whole number of patches, so both paths read the same window
    net = toto2_direct.load(MODEL, checkpoint)
    config = toto2.Toto2GluonTSModelConfig(prediction_length=horizon, context_length=context, target_dim=1)
    predictor = toto2.Toto2GluonTSModel(net, config).create_predictor(batch_size=1, device="cpu")
    (fc,) = predictor.predict([{"start": pd.Period("1990-01-07", freq="W"), "target": co2}])
    ours, _ = _forecast(worker, [_wire_series("co2", co2)], horizon, {"context_length": context})
    np.testing.assert_allclose(ours[0]["mean"][0], fc.quantile(0.5), rtol=1e-4, atol=1e-4)
    for i, level in enumerate(QUANTILES):
        np.testing.assert_allclose(ours[0]["quantiles"][i, 0], np.sort([fc.quantile(q) for q in QUANTILES], axis=0)[i],
                                   rtol=1e-4, atol=1e-4, err_msg=f"q{level}")


def test_multivariate_matches_and_the_variates_interact(worker: Any, checkpoint: str, macro: dict) -> None:
    target = np.stack([macro["realgdp"], macro["realcons"]])
    ours, _ = _forecast(worker, [_wire_series("us", target)], 8)
    theirs = _direct(checkpoint, [{"id": "us", "target": target.tolist()}], 8)
    _assert_same(ours[0], theirs[0])
    assert ours[0]["mean"].shape == (2, 8)
    alone, _ = _forecast(worker, [_wire_series("gdp", macro["realgdp"])], 8)
    assert not np.allclose(alone[0]["mean"][0], ours[0]["mean"][0], rtol=1e-5), "variate attention mixes the variates"


def test_block_decoding_matches_the_library_and_changes_the_forecast(worker: Any, checkpoint: str, co2: np.ndarray) -> None:
    options = {"decode_block_size": PATCH}
    ours, _ = _forecast(worker, [_wire_series("co2", co2)], 3 * PATCH, options)
    theirs = _direct(checkpoint, [{"id": "co2", "target": [co2.tolist()]}], 3 * PATCH, options)
    _assert_same(ours[0], theirs[0])
    one_pass, _ = _forecast(worker, [_wire_series("co2", co2)], 3 * PATCH)
    assert not np.allclose(one_pass[0]["mean"], ours[0]["mean"], rtol=1e-5)


def test_off_grid_levels_are_interpolated_with_a_warning(worker: Any, checkpoint: str, co2: np.ndarray) -> None:
    levels = [0.05, 0.25, 0.5, 0.75]
    ours, warnings = _forecast(worker, [_wire_series("co2", co2)], 12, quantiles=levels)
    theirs = _direct(checkpoint, [{"id": "co2", "target": [co2.tolist()]}], 12, quantiles=[0.1, 0.5, 0.9])
    assert (np.diff(ours[0]["quantiles"], axis=0) >= 0).all(), "non-crossing"
    np.testing.assert_allclose(ours[0]["mean"], theirs[0]["mean"], rtol=1e-4, atol=1e-4)
    assert any("0.05" in w and "interpolated" in w and "clamped" in w for w in warnings), warnings


def test_missing_values_are_masked_and_forecast(worker: Any, checkpoint: str, co2: np.ndarray) -> None:
    gappy = co2[-130:].copy()  # 130 points: not a whole number of patches, so the front is padded too
    gappy[[0, 10, 50, 51, 52, 120]] = np.nan
    out, _ = _forecast(worker, [_wire_series("a", gappy)], 12)
    assert np.isfinite(out[0]["mean"]).all()
    theirs = _direct(checkpoint, [{"id": "a", "target": [[None if np.isnan(v) else float(v) for v in gappy]]}], 12)
    _assert_same(out[0], theirs[0])
    filled, _ = _forecast(worker, [_wire_series("a", np.nan_to_num(gappy, nan=float(np.nanmean(gappy))))], 12)
    assert not np.allclose(filled[0]["mean"], out[0]["mean"], rtol=1e-5), "the gaps are masked, not read as values"
    resp = _post(worker, [_wire_series("e", np.full(64, np.nan, dtype=np.float32))], 12, {})
    assert resp.status_code == 400
    assert _error(resp).code == "bad_input"


# -- covariates Toto 2.0 cannot use --------------------------------------------------------------
@pytest.mark.parametrize("kind", ["past", "future", "static"])
def test_covariates_that_reach_the_worker_are_refused(worker: Any, macro: dict, kind: str) -> None:
    y = macro["realgdp"][:-8]
    given = {"past": {"unemp": macro["unemp"][:-8]}, "future": {"cpi": macro["cpi"]}, "static": {"country": "us"}}[kind]
    CALLS.assert_refused(worker, [_wire_series("a", y, **{kind: given})], 8, f"{kind} covariates ['{next(iter(given))}']")


# -- family traps ---------------------------------------------------------------------------------
def test_every_tensor_of_the_file_is_loaded(checkpoint: str) -> None:
    from safetensors.torch import load_file

    loaded = create_adapter().load(MODEL, checkpoint, "cpu", {})
    state = loaded.handle.model.state_dict()
    in_file = load_file(str(Path(checkpoint) / "model.safetensors"))
    assert set(in_file) == set(state)
    for key, tensor in in_file.items():
        assert state[key].equal(tensor), key
    assert loaded.memory_bytes >= sum(t.numel() * t.element_size() for t in in_file.values())


def _altered(checkpoint: str, tmp_path: Path, edit: Any) -> str:
    from safetensors.torch import load_file, save_file

    out = tmp_path / "altered"
    shutil.copytree(checkpoint, out)
    state = load_file(str(out / "model.safetensors"))
    edit(state)
    save_file(state, str(out / "model.safetensors"))
    return str(out)


def test_a_renamed_tensor_is_refused(worker: Any, checkpoint: str, tmp_path: Path) -> None:
    def rename(state: dict) -> None:
        key = next(k for k in state if k.startswith("patch_proj"))
        state[key + "_renamed"] = state.pop(key)

    path = _altered(checkpoint, tmp_path, rename)
    req = wire.LoadRequest(key="renamed", name=MODEL, path=path, device="cpu")
    resp = worker.post("/v1/load", content=wire.encode(req), headers={"content-type": wire.CONTENT_TYPE})
    assert resp.status_code == 500
    error = _error(resp)
    assert error.code == "load_failed"
    assert "patch_proj" in error.message


def test_a_checkpoint_without_config_is_refused(checkpoint: str, tmp_path: Path) -> None:
    out = tmp_path / "noconfig"
    shutil.copytree(checkpoint, out)
    (out / "config.json").unlink()
    with pytest.raises(LoadFailed, match=r"config\.json"):
        create_adapter().load(MODEL, str(out), "cpu", {})


def test_context_length_uses_only_the_last_points(worker: Any, co2: np.ndarray) -> None:
    cut, _ = _forecast(worker, [_wire_series("a", co2)], 12, {"context_length": 100})
    short, _ = _forecast(worker, [_wire_series("a", co2[-100:])], 12)
    full, _ = _forecast(worker, [_wire_series("a", co2)], 12)
    np.testing.assert_array_equal(cut[0]["mean"], short[0]["mean"])
    assert not np.allclose(cut[0]["mean"], full[0]["mean"], rtol=1e-5)


def test_forecasts_do_not_depend_on_the_batch(worker: Any, co2: np.ndarray, macro: dict) -> None:
    series = [_wire_series("a", co2[-200:]), _wire_series("b", co2[-400:-200] * 1.5),
              _wire_series("us", np.stack([macro["realgdp"], macro["cpi"]]))]
    together, _ = _forecast(worker, series, 12)
    for s, both in zip(series, together, strict=True):
        alone, _ = _forecast(worker, [s], 12)
        np.testing.assert_allclose(alone[0]["mean"], both["mean"], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(alone[0]["quantiles"], both["quantiles"], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"decode_block_size": PATCH + 1}, "multiple of the patch size"),
        ({"context_length": 0}, "context_length"),
        ({"decode_block_size": 1.5}, "decode_block_size"),
    ],
)
def test_bad_options_are_bad_input(worker: Any, co2: np.ndarray, options: dict, message: str) -> None:
    resp = _post(worker, [_wire_series("a", co2[-64:])], 12, options)
    assert resp.status_code == 400
    assert message in _error(resp).message


def test_a_horizon_past_the_cap_is_bad_input(checkpoint: str) -> None:
    adapter = create_adapter()
    loaded = adapter.load(MODEL, checkpoint, "cpu", {})
    series = SeriesInput(id="x", target=np.ones((1, 32), np.float32))
    with pytest.raises(BadInput, match=str(MAX_HORIZON)):
        adapter.forecast(loaded, ForecastInput(horizon=MAX_HORIZON + 1, quantiles=(0.5,), series=[series]))
