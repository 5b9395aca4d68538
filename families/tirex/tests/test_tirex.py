"""The tirex family against its upstream library (tirex-2), on a tiny random checkpoint built at test time.

Run: ``<tirex env>/bin/python -m pytest families/tirex/tests -q`` from the repository root.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tirex_checkpoints
import tirex_direct
from tollama_kit import protocol as wire
from tollama_kit import testing
from tollama_kit.adapter import ForecastInput, SeriesInput
from tollama_kit.contract import ContractCase, WorkerContract
from tollama_kit.errors import BadInput, LoadFailed
from tollama_tirex.adapter import create_adapter

MODEL = tirex_checkpoints.MODEL
QUANTILES = [0.1, 0.5, 0.9]
FUTURE_LEN = tirex_checkpoints.TINY_CONFIG["future_len"]


# -- helpers (the kit's: tollama_kit.testing) ----------------------------------------------------
CALLS = testing.WorkerCalls("tirex", QUANTILES)
_post, _forecast, _error, _assert_same = CALLS.post, CALLS.forecast, testing.worker_error, testing.assert_same
_direct = testing.DirectCalls(MODEL, tirex_direct.load, tirex_direct.run, QUANTILES)


def _wire_series(sid: str, target: np.ndarray, **covariates: Any) -> wire.Series:
    return testing.wire_series(sid, target, **covariates)


def _lists(d: dict[str, np.ndarray]) -> dict[str, list[float]]:
    return {k: v.tolist() for k, v in d.items()}


# -- the kit's contract -----------------------------------------------------------------------
class TestTirexContract(WorkerContract):
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


def test_multivariate_matches_and_the_variates_interact(worker: Any, checkpoint: str, macro: dict) -> None:
    target = np.stack([macro["realgdp"], macro["realcons"]])
    ours, _ = _forecast(worker, [_wire_series("us", target)], 8)
    theirs = _direct(checkpoint, [{"id": "us", "target": target.tolist()}], 8)
    _assert_same(ours[0], theirs[0])
    assert ours[0]["mean"].shape == (2, 8)
    alone, _ = _forecast(worker, [_wire_series("gdp", macro["realgdp"])], 8)
    assert not np.allclose(alone[0]["mean"][0], ours[0]["mean"][0], rtol=1e-5), "attention mixes the variates"


def test_covariates_match_and_change_the_forecast(worker: Any, checkpoint: str, macro: dict) -> None:
    horizon = 12
    history = len(macro["realgdp"]) - horizon  # the last 12 quarters are the "known future"
    target = macro["realgdp"][:history]
    past = {"unemp": macro["unemp"][:history]}
    future = {"realint": macro["realint"], "cpi": macro["cpi"]}
    ours, warnings = _forecast(worker, [_wire_series("gdp", target, past=past, future=future)], horizon)
    theirs = _direct(
        checkpoint,
        [{"id": "gdp", "target": [target.tolist()], "past_covariates": _lists(past), "future_covariates": _lists(future)}],
        horizon,
    )
    _assert_same(ours[0], theirs[0])
    assert warnings == []
    plain, _ = _forecast(worker, [_wire_series("gdp", target)], horizon)
    assert not np.allclose(plain[0]["mean"], ours[0]["mean"], rtol=1e-5)
    # The known horizon values are read: changing them moves the forecast.
    bumped = future["realint"].copy()
    bumped[history:] += 50
    moved, _ = _forecast(worker, [_wire_series("gdp", target, past=past, future={**future, "realint": bumped})], horizon)
    assert not np.allclose(moved[0]["mean"], ours[0]["mean"], rtol=1e-5)


def test_sign_flip_option_matches_the_library_flag(worker: Any, checkpoint: str, co2: np.ndarray) -> None:
    ours, _ = _forecast(worker, [_wire_series("co2", co2)], 16, {"tta_sign_flip": True})
    theirs = _direct(checkpoint, [{"id": "co2", "target": [co2.tolist()]}], 16, {"tta_sign_flip": True})
    _assert_same(ours[0], theirs[0])
    default, _ = _forecast(worker, [_wire_series("co2", co2)], 16)
    assert not np.allclose(default[0]["mean"], ours[0]["mean"], rtol=1e-5)


def test_off_grid_levels_are_interpolated_with_a_warning(worker: Any, checkpoint: str, co2: np.ndarray) -> None:
    levels = [0.05, 0.25, 0.5, 0.75]
    ours, warnings = _forecast(worker, [_wire_series("co2", co2)], 12, quantiles=levels)
    theirs = _direct(checkpoint, [{"id": "co2", "target": [co2.tolist()]}], 12, quantiles=[0.1, 0.5, 0.9])
    q = ours[0]["quantiles"]
    assert (np.diff(q, axis=0) >= 0).all(), "non-crossing"
    np.testing.assert_allclose(ours[0]["mean"], theirs[0]["mean"], rtol=1e-4, atol=1e-4)
    assert any("0.05" in w and "interpolated" in w and "clamped" in w for w in warnings), warnings


# -- covariates TiRex-2 cannot use ---------------------------------------------------------------
@pytest.mark.parametrize(("kinds", "named"), testing.unusable_covariate_cases(96, 12))
def test_unusable_covariates_that_reach_the_worker_are_refused(worker: Any, co2: np.ndarray, kinds: dict, named: str) -> None:
    CALLS.assert_refused(worker, [_wire_series("a", co2[-96:], **kinds)], 12, named)


# -- family traps ---------------------------------------------------------------------------------
def test_every_tensor_of_the_file_is_loaded(checkpoint: str) -> None:
    from safetensors.torch import load_file

    loaded = create_adapter().load(MODEL, checkpoint, "cpu", {})
    state = loaded.handle.model.model.state_dict()
    in_file = load_file(str(Path(checkpoint) / "model.safetensors"))
    assert len(in_file) < len(state), "the hub layout stores aliased tensors once"
    for key, tensor in in_file.items():
        assert state[key].equal(tensor), key
    assert loaded.memory_bytes >= sum(t.numel() * 4 for t in in_file.values())


def _altered(checkpoint: str, tmp_path: Path, edit: Any) -> str:
    return testing.altered_checkpoint(checkpoint, tmp_path / "altered", edit)


def test_a_renamed_tensor_is_refused(worker: Any, checkpoint: str, tmp_path: Path) -> None:
    def rename(state: dict) -> None:
        state["output_patch_embedding.hidden_layer.weights"] = state.pop("output_patch_embedding.hidden_layer.weight")

    path = _altered(checkpoint, tmp_path, rename)
    req = wire.LoadRequest(key="renamed", name=MODEL, path=path, device="cpu")
    resp = worker.post("/v1/load", content=wire.encode(req), headers={"content-type": wire.CONTENT_TYPE})
    assert resp.status_code == 500
    error = _error(resp)
    assert error.code == "load_failed"
    assert "hidden_layer.weight" in error.message


def test_a_checkpoint_without_config_is_refused(checkpoint: str, tmp_path: Path) -> None:
    out = tmp_path / "noconfig"
    shutil.copytree(checkpoint, out)
    (out / "config.json").unlink()
    with pytest.raises(LoadFailed, match=r"config\.json"):
        create_adapter().load(MODEL, str(out), "cpu", {})


def test_a_horizon_the_library_would_silently_cut_is_refused(worker: Any, checkpoint: str, co2: np.ndarray) -> None:
    direct = _direct(checkpoint, [{"id": "a", "target": [co2[-64:].tolist()]}], FUTURE_LEN + 8)
    assert np.asarray(direct[0]["mean"]).shape[-1] == FUTURE_LEN  # upstream: a log line, a shorter forecast
    resp = _post(worker, [_wire_series("a", co2[-64:])], FUTURE_LEN + 8, {})
    assert resp.status_code == 400
    assert _error(resp).code == "bad_input"
    assert str(FUTURE_LEN) in _error(resp).message


def test_context_length_uses_only_the_last_points(worker: Any, co2: np.ndarray) -> None:
    cut, _ = _forecast(worker, [_wire_series("a", co2)], 12, {"context_length": 100})
    short, _ = _forecast(worker, [_wire_series("a", co2[-100:])], 12)
    full, _ = _forecast(worker, [_wire_series("a", co2)], 12)
    np.testing.assert_array_equal(cut[0]["mean"], short[0]["mean"])
    assert not np.allclose(cut[0]["mean"], full[0]["mean"], rtol=1e-5)


def test_forecasts_do_not_depend_on_the_batch(worker: Any, co2: np.ndarray, macro: dict) -> None:
    series = [_wire_series("co2", co2[-200:]), _wire_series("us", np.stack([macro["realgdp"], macro["cpi"]]))]
    both, _ = _forecast(worker, series, 12)
    for s, together in zip(series, both, strict=True):
        alone, _ = _forecast(worker, [s], 12)
        np.testing.assert_allclose(alone[0]["mean"], together["mean"], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(alone[0]["quantiles"], together["quantiles"], rtol=1e-5, atol=1e-5)


def test_missing_values_are_passed_as_nan_and_forecast(worker: Any, checkpoint: str, co2: np.ndarray) -> None:
    gappy = co2[-128:].copy()
    gappy[[10, 50, 51, 52, 127]] = np.nan
    out, _ = _forecast(worker, [_wire_series("a", gappy)], 12)
    assert np.isfinite(out[0]["mean"]).all()
    theirs = _direct(checkpoint, [{"id": "a", "target": [[None if np.isnan(v) else float(v) for v in gappy]]}], 12)
    _assert_same(out[0], {k: np.asarray(v, dtype=np.float64) for k, v in theirs[0].items()})
    empty = np.full(64, np.nan, dtype=np.float32)
    resp = _post(worker, [_wire_series("e", empty)], 12, {})
    assert resp.status_code == 400
    assert _error(resp).code == "bad_input"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"tta_sign_flip": "yes"}, "tta_sign_flip"),
        ({"context_length": 0}, "context_length"),
        ({"batch_size": 1.5}, "'batch_size'"),
    ],
)
def test_bad_options_are_bad_input(worker: Any, co2: np.ndarray, options: dict, message: str) -> None:
    resp = _post(worker, [_wire_series("a", co2[-64:])], 12, options)
    assert resp.status_code == 400
    assert message in _error(resp).message


def test_unsupported_inputs_in_the_adapter_raise_kit_errors(checkpoint: str) -> None:
    adapter = create_adapter()
    loaded = adapter.load(MODEL, checkpoint, "cpu", {})
    series = SeriesInput(id="x", target=np.ones((1, 32), np.float32))
    with pytest.raises(BadInput):
        adapter.forecast(loaded, ForecastInput(horizon=FUTURE_LEN + 1, quantiles=(0.5,), series=[series]))
