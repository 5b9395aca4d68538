"""The toto family against its upstream library (toto-ts), on a tiny random checkpoint built at test time.

Run: ``<toto env>/bin/python -m pytest families/toto/tests -q`` from the repository root.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import toto_checkpoints
import toto_direct
from tollama_kit import protocol as wire
from tollama_kit import testing
from tollama_kit.adapter import ForecastInput, SeriesInput
from tollama_kit.contract import ContractCase, WorkerContract
from tollama_kit.errors import BadInput, LoadFailed
from tollama_kit.options import parse_options
from tollama_toto.adapter import KV_BUDGET_BYTES, TotoAdapter, canonical_key, create_adapter
from tollama_toto.inputs import Prepared
from tollama_toto.options import MAX_CONTEXT, TotoOptions

MODEL = toto_checkpoints.MODEL

QUANTILES = [0.1, 0.5, 0.9]


# -- helpers (the kit's: tollama_kit.testing) ----------------------------------------------------
CALLS = testing.WorkerCalls("toto", QUANTILES)
_post, _forecast, _error, _assert_same = CALLS.post, CALLS.forecast, testing.worker_error, testing.assert_same
_direct = testing.DirectCalls(MODEL, toto_direct.load, toto_direct.run, QUANTILES)


def _wire_series(sid: str, target: np.ndarray, **covariates: Any) -> wire.Series:
    return testing.wire_series(sid, target, **covariates)


# -- the kit's contract -----------------------------------------------------------------------
class TestTotoContract(WorkerContract):
    @pytest.fixture(scope="class")
    @classmethod
    def contract_case(cls, checkpoint: str) -> ContractCase:
        return ContractCase(adapter_factory=create_adapter, name=MODEL, path=checkpoint, horizon=12, context=64)


# -- parity with the library called directly ---------------------------------------------------
OPTS = {"num_samples": 64, "samples_per_batch": 32, "seed": 7}


def test_co2_matches_the_library_called_directly(worker: Any, checkpoint: str, co2: np.ndarray) -> None:
    ours, warnings = _forecast(worker, [_wire_series("co2", co2)], 24, OPTS)
    theirs = _direct(checkpoint, [{"id": "co2", "target": [co2.tolist()]}], 24, OPTS)
    _assert_same(ours[0], theirs[0])
    assert warnings == []
    # Not a tautology: another seed draws other paths, and the forecast sits near the data's level.
    other = _direct(checkpoint, [{"id": "co2", "target": [co2.tolist()]}], 24, {**OPTS, "seed": 8})
    assert not np.allclose(ours[0]["mean"], other[0]["mean"], rtol=1e-4)
    assert abs(float(np.median(ours[0]["mean"])) - float(co2[-52:].mean())) < 3 * float(co2.std())


def test_default_options_match_the_library_defaults(worker: Any, checkpoint: str, co2: np.ndarray) -> None:
    """Defaults: 256 samples, seed 0; one sample batch, since one variate fits the KV-cache budget."""
    ours, _ = _forecast(worker, [_wire_series("co2", co2[-128:])], 16, {})
    theirs = _direct(checkpoint, [{"id": "co2", "target": [co2[-128:].tolist()]}], 16, {"num_samples": 256, "seed": 0})
    _assert_same(ours[0], theirs[0])


def test_multivariate_matches_and_the_variates_interact(worker: Any, checkpoint: str, macro: dict) -> None:
    target = np.stack([macro["realgdp"], macro["realcons"]])
    ours, _ = _forecast(worker, [_wire_series("us", target)], 8, OPTS)
    theirs = _direct(checkpoint, [{"id": "us", "target": target.tolist()}], 8, OPTS)
    _assert_same(ours[0], theirs[0])
    assert ours[0]["mean"].shape == (2, 8)
    alone, _ = _forecast(worker, [_wire_series("gdp", macro["realgdp"])], 8, OPTS)
    assert not np.allclose(alone[0]["mean"][0], ours[0]["mean"][0], rtol=1e-4), "space-wise attention mixes variates"


def test_covariates_match_and_change_the_forecast(worker: Any, checkpoint: str, macro: dict) -> None:
    horizon = 24  # two decoding steps of the tiny model's 16-step patches
    history = len(macro["realgdp"]) - horizon  # the last 24 quarters are the "known future"
    target = macro["realgdp"][:history]
    past = {"unemp": macro["unemp"][:history]}
    future = {"realint": macro["realint"], "cpi": macro["cpi"]}
    ours, warnings = _forecast(worker, [_wire_series("gdp", target, past=past, future=future)], horizon, OPTS)
    as_lists = lambda d: {k: v.tolist() for k, v in d.items()}  # noqa: E731
    theirs = _direct(
        checkpoint,
        [
            {
                "id": "gdp",
                "target": [target.tolist()],
                "past_covariates": as_lists(past),
                "future_covariates": as_lists(future),
            }
        ],
        horizon,
        OPTS,
    )
    _assert_same(ours[0], theirs[0])
    assert warnings == []
    plain, _ = _forecast(worker, [_wire_series("gdp", target)], horizon, OPTS)
    assert not np.allclose(plain[0]["mean"], ours[0]["mean"], rtol=1e-4)
    # Known horizon values enter the decoding one patch later: changing them within the first
    # patch leaves that patch's forecast alone and moves the next one (upstream's design). Shown
    # with mean decoding: with sampling, Student-t draws use a data-dependent amount of randomness.
    patch = toto_checkpoints.TINY_CONFIG["patch_size"]
    bumped = future["realint"].copy()
    bumped[history : history + patch] += 50
    means = [
        _forecast(
            worker,
            [_wire_series("gdp", target, past=past, future={**future, "realint": v})],
            horizon,
            {"num_samples": 0},
        )[0][0]["mean"]
        for v in (future["realint"], bumped)
    ]
    np.testing.assert_array_equal(means[0][:, :patch], means[1][:, :patch])
    assert not np.allclose(means[0][:, patch:], means[1][:, patch:], rtol=1e-4)


# -- covariates Toto cannot use -----------------------------------------------------------------
@pytest.mark.parametrize(("kinds", "named"), testing.unusable_covariate_cases(96, 12))
def test_unusable_covariates_that_reach_the_worker_are_refused(worker: Any, co2: np.ndarray, kinds: dict, named: str) -> None:
    CALLS.assert_refused(worker, [_wire_series("a", co2[-96:], **kinds)], 12, named, OPTS)


# -- family traps ---------------------------------------------------------------------------------
def test_every_tensor_of_the_file_is_loaded(checkpoint: str) -> None:
    loaded = create_adapter().load(MODEL, checkpoint, "cpu", {})
    model_state = {canonical_key(k): v for k, v in loaded.handle.model.state_dict().items()}
    file_state = {canonical_key(k): v for k, v in testing.tensors_of(Path(checkpoint) / "model.safetensors").items()}
    assert any(".mlp.0.w12." in k for k in testing.tensors_of(Path(checkpoint) / "model.safetensors")), "hub naming"
    assert set(model_state) == set(file_state)
    for key, tensor in file_state.items():
        assert model_state[key].equal(tensor), key
    assert loaded.memory_bytes >= sum(t.numel() * 4 for t in file_state.values())


def _altered(checkpoint: str, tmp_path: Path, edit: Any) -> str:
    return testing.altered_checkpoint(checkpoint, tmp_path / "altered", edit)


def test_a_renamed_tensor_is_refused(worker: Any, checkpoint: str, tmp_path: Path) -> None:
    def rename(state: dict) -> None:
        state["model.unembed.weights"] = state.pop("model.unembed.weight")

    path = _altered(checkpoint, tmp_path, rename)
    req = wire.LoadRequest(key="renamed", name=MODEL, path=path, device="cpu")
    resp = worker.post("/v1/load", content=wire.encode(req), headers={"content-type": wire.CONTENT_TYPE})
    assert resp.status_code == 500
    error = _error(resp)
    assert error.code == "load_failed"
    assert "unembed.weight" in error.message


def test_a_missing_tensor_is_refused(checkpoint: str, tmp_path: Path) -> None:
    path = _altered(checkpoint, tmp_path, lambda s: s.pop("model.output_distribution.df.bias"))
    with pytest.raises(RuntimeError, match=r"output_distribution\.df\.bias"):
        create_adapter().load(MODEL, path, "cpu", {})


def test_an_unused_tensor_is_refused_although_the_upstream_loader_drops_it(checkpoint: str, tmp_path: Path) -> None:
    import torch

    def extra(state: dict) -> None:  # e.g. a fine-tuned checkpoint's variate label
        state["model.target_variate_label"] = torch.zeros(toto_checkpoints.TINY_CONFIG["embed_dim"])

    path = _altered(checkpoint, tmp_path, extra)
    toto_checkpoints.toto_module().Toto.load_from_checkpoint(path, map_location="cpu")  # upstream: silently fine
    with pytest.raises(LoadFailed, match="target_variate_label"):
        create_adapter().load(MODEL, path, "cpu", {})


def test_a_checkpoint_without_config_is_refused(checkpoint: str, tmp_path: Path) -> None:
    out = tmp_path / "noconfig"
    shutil.copytree(checkpoint, out)
    (out / "config.json").unlink()
    with pytest.raises(LoadFailed, match=r"config\.json"):
        create_adapter().load(MODEL, str(out), "cpu", {})


def test_context_length_uses_only_the_last_points(worker: Any, co2: np.ndarray) -> None:
    cut, _ = _forecast(worker, [_wire_series("a", co2)], 12, {**OPTS, "context_length": 100})
    short, _ = _forecast(worker, [_wire_series("a", co2[-100:])], 12, OPTS)
    full, _ = _forecast(worker, [_wire_series("a", co2)], 12, OPTS)
    np.testing.assert_array_equal(cut[0]["mean"], short[0]["mean"])
    assert not np.allclose(cut[0]["mean"], full[0]["mean"], rtol=1e-4)


def test_sampled_forecasts_do_not_depend_on_the_batch(worker: Any, co2: np.ndarray, macro: dict) -> None:
    series = [_wire_series("co2", co2[-200:]), _wire_series("us", np.stack([macro["realgdp"], macro["cpi"]]))]
    both, _ = _forecast(worker, series, 12, OPTS)
    for s, together in zip(series, both, strict=True):
        alone, _ = _forecast(worker, [s], 12, OPTS)
        np.testing.assert_array_equal(alone[0]["mean"], together["mean"])
        np.testing.assert_array_equal(alone[0]["quantiles"], together["quantiles"])


def test_mean_decoding_batches_series_and_says_quantiles_collapse(
    worker: Any, checkpoint: str, co2: np.ndarray
) -> None:
    series = [_wire_series("a", co2[-128:]), _wire_series("b", co2[-128:] * 2), _wire_series("c", co2[-64:])]
    both, warnings = _forecast(worker, series, 12, {"num_samples": 0})
    theirs = _direct(checkpoint, [{"id": "b", "target": [(co2[-128:] * 2).tolist()]}], 12, {"num_samples": 0})
    np.testing.assert_allclose(both[1]["mean"], theirs[0]["mean"], rtol=1e-4)
    assert (both[0]["quantiles"] == both[0]["mean"][None]).all()
    assert any("num_samples=0" in w for w in warnings)


def test_missing_values_are_masked_not_zeros(worker: Any, co2: np.ndarray) -> None:
    gappy = co2[-128:].copy()
    gappy[[10, 50, 51, 52, 127]] = np.nan
    out, _ = _forecast(worker, [_wire_series("a", gappy)], 12, OPTS)
    assert np.isfinite(out[0]["mean"]).all()
    assert abs(float(np.median(out[0]["mean"])) - float(np.nanmean(gappy))) < 10 * float(np.nanstd(gappy)) + 10
    empty = np.full(64, np.nan, dtype=np.float32)
    resp = _post(worker, [_wire_series("e", empty)], 12, OPTS)
    assert resp.status_code == 400
    assert _error(resp).code == "bad_input"


@pytest.mark.parametrize(
    ("options", "horizon", "message"),
    [
        ({"num_samples": 64, "samples_per_batch": 10}, 12, "must divide"),
        ({"num_samples": "many"}, 12, "'num_samples'"),
        ({}, 1025, "horizon"),
    ],
)
def test_bad_requests_are_bad_input(worker: Any, co2: np.ndarray, options: dict, horizon: int, message: str) -> None:
    resp = _post(worker, [_wire_series("a", co2[-64:])], horizon, options)
    assert resp.status_code == 400
    assert message in _error(resp).message


def test_sample_batches_shrink_to_fit_the_memory_budget() -> None:
    """Real-size Toto (12 layers, width 768, patch 64): keys+values cost 73,728 bytes per token."""
    handle = type("H", (), {"patch_size": 64, "kv_bytes_per_token": 2 * 12 * 768 * 4})()
    adapter = TotoAdapter()

    def pick(variates: int, length: int = MAX_CONTEXT, horizon: int = 64) -> int:
        values = np.zeros((variates, length), np.float32)
        p = Prepared(values=values, observed=values == 0, future=None, n_targets=variates, n_exogenous=0)
        return adapter._samples_per_batch(handle, p, horizon, parse_options({}, TotoOptions))

    assert pick(1) == 256  # 256 paths x 65 patches x 72 KiB = 1.2 GB
    assert pick(8) == 32  # 2 GiB / (8 x 65 x 72 KiB) = 56 -> the largest divisor of 256 below
    assert pick(64) == 4
    for variates in (1, 8, 64, 300):
        spb = pick(variates)
        assert 256 % spb == 0
        assert spb == 1 or spb * variates * 65 * handle.kv_bytes_per_token <= KV_BUDGET_BYTES


def test_unsupported_inputs_in_the_adapter_raise_kit_errors(checkpoint: str) -> None:
    adapter = create_adapter()
    loaded = adapter.load(MODEL, checkpoint, "cpu", {})
    series = SeriesInput(id="x", target=np.ones((1, 32), np.float32))
    with pytest.raises(BadInput):
        adapter.forecast(loaded, ForecastInput(horizon=2000, quantiles=(0.5,), series=[series]))
