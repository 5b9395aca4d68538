"""granite family: FlowState r1.1 and PatchTST-FM r1 -- the kit's contract, parity with granite-tsfm
called directly (direct_quantile_models.py), FlowState's scale factor, limits and traps.

Tiny randomly initialised checkpoints (checkpoints.py) built once per model, loaded through the
library's ``from_pretrained`` by the adapter and by the direct call alike.
"""

from __future__ import annotations

import numpy as np
import pytest
from checkpoints import FLOWSTATE, MODELS, PATCHTST_FM, build
from direct_quantile_models import direct_forecast
from tollama_kit.adapter import ForecastInput, SeriesInput
from tollama_kit.contract import ContractCase, WorkerContract
from tollama_kit.errors import BadInput, Unsupported

pytestmark = [
    pytest.mark.family("granite"),
    pytest.mark.filterwarnings("ignore::FutureWarning:transformers.*"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

LEVELS = (0.1, 0.5, 0.9)


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return {m: str(build(m, tmp_path_factory.mktemp(m))) for m in MODELS}


@pytest.fixture(scope="module")
def loaded(adapter, ckpts):
    return {m: adapter.load(m, ckpts[m], "cpu", {}) for m in MODELS}


class TestFlowStateContract(WorkerContract):
    @pytest.fixture(scope="class")
    @classmethod
    def contract_case(cls, tmp_path_factory: pytest.TempPathFactory) -> ContractCase:
        from tollama_granite.adapter import create_adapter

        path = build(FLOWSTATE, tmp_path_factory.mktemp("contract-flowstate"))
        return ContractCase(adapter_factory=create_adapter, name=FLOWSTATE, path=str(path), options={"scale_factor": 2.0})


class TestPatchTSTFMContract(WorkerContract):
    @pytest.fixture(scope="class")
    @classmethod
    def contract_case(cls, tmp_path_factory: pytest.TempPathFactory) -> ContractCase:
        from tollama_granite.adapter import create_adapter

        path = build(PATCHTST_FM, tmp_path_factory.mktemp("contract-patchtst-fm"))
        return ContractCase(adapter_factory=create_adapter, name=PATCHTST_FM, path=str(path))


def _call(adapter, loaded, series: dict[str, np.ndarray], horizon: int, *, freq=None, options=None, levels=LEVELS):
    inputs = [SeriesInput(id=k, target=np.atleast_2d(v).astype(np.float32)) for k, v in series.items()]
    return adapter.forecast(loaded, ForecastInput(horizon, tuple(levels), inputs, freq=freq, options=options or {}))


def _direct(model, ckpt, series, horizon, *, freq=None, options=None, levels=LEVELS):
    req = {"horizon": horizon, "quantiles": list(levels), "freq": freq, "options": options or {},
           "series": [{"id": k, "target": np.atleast_2d(v).tolist()} for k, v in series.items()]}
    return direct_forecast(model, ckpt, req)


def _assert_parity(out, expected, tol=1e-4) -> None:
    for got, want in zip(out.series, expected["series"], strict=True):
        assert got.id == want["id"]
        np.testing.assert_allclose(got.mean, np.asarray(want["mean"]), rtol=tol, atol=tol)
        np.testing.assert_allclose(got.quantiles, np.asarray(want["quantiles"]), rtol=tol, atol=tol)


# -- parity with granite-tsfm called directly ------------------------------------------------------
@pytest.mark.parametrize("model", MODELS)
def test_parity_co2_mixed_lengths_and_variates(adapter, loaded, ckpts, co2, airline, model) -> None:
    # weekly co2 (full: 2,284 points), an early part of it, and a two-variate series; the adapter
    # batches rows of equal length, the direct call forecasts every row on its own
    b = np.resize(airline, 900)
    series = {"co2": co2, "co2-early": co2[:700], "two": np.stack([co2[-900:], b])}
    out = _call(adapter, loaded[model], series, 24, freq="W-SAT")
    _assert_parity(out, _direct(model, ckpts[model], series, 24, freq="W"))
    assert out.series[2].mean.shape == (2, 24) and out.series[2].quantiles.shape == (3, 2, 24)
    q = out.series[0].quantiles
    assert (np.diff(q, axis=0) >= 0).all() and not np.allclose(q[0], q[2]), "native quantiles, monotone"
    assert not out.warnings


@pytest.mark.parametrize("model", MODELS)
def test_parity_with_missing_values_and_off_grid_levels(adapter, loaded, ckpts, co2, model) -> None:
    y = co2[-600:].copy()
    y[[10, 11, 300, 450]] = np.nan
    levels = (0.05, 0.25, 0.5, 0.75, 0.95)
    out = _call(adapter, loaded[model], {"gappy": y}, 12, freq="W-SUN", levels=levels)
    _assert_parity(out, _direct(model, ckpts[model], {"gappy": y}, 12, freq="W", levels=levels))
    assert np.isfinite(out.series[0].mean).all()
    if model == FLOWSTATE:  # 0.05/0.95 are outside FlowState's 0.1…0.9 grid, 0.25/0.75 between its levels
        assert any("interpolated" in w and "clamped" in w for w in out.warnings)
    else:  # PatchTST-FM's grid has every hundredth
        assert not out.warnings


def test_flowstate_long_history_is_cut_like_the_model_does(adapter, loaded, ckpts, co2) -> None:
    # hourly: scale factor 1, the model reads the last 2,048 of co2's 2,284 points
    out = _call(adapter, loaded[FLOWSTATE], {"co2": co2}, 24, freq="h")
    _assert_parity(out, _direct(FLOWSTATE, ckpts[FLOWSTATE], {"co2": co2}, 24, freq="H"))
    tail = _call(adapter, loaded[FLOWSTATE], {"co2": co2[-2048:]}, 24, freq="h")
    np.testing.assert_allclose(out.series[0].mean, tail.series[0].mean, rtol=1e-6)


def test_context_length_option_cuts_the_history(adapter, loaded, ckpts, co2) -> None:
    for model in MODELS:
        cut = _call(adapter, loaded[model], {"a": co2}, 12, freq="W", options={"context_length": 300})
        tail = _call(adapter, loaded[model], {"a": co2[-300:]}, 12, freq="W")
        full = _call(adapter, loaded[model], {"a": co2}, 12, freq="W")
        np.testing.assert_allclose(cut.series[0].mean, tail.series[0].mean, rtol=1e-5)
        assert not np.allclose(cut.series[0].mean, full.series[0].mean, rtol=1e-4)


# -- FlowState's scale factor --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("ours", "upstream"),
    [("h", "H"), ("15min", "15T"), ("min", "T"), ("6h", "6H"), ("D", "D"), ("3D", "3D"), ("W-SAT", "W"),
     ("W-WED", "W"), ("MS", "M"), ("ME", "M"), ("QS", "Q"), ("QE", "Q"), ("YS", "A"), ("YE", "A"), ("10s", "10S")],
)
def test_recommended_scale_factor_is_granite_tsfms(ours, upstream) -> None:
    from tollama_granite.flowstate import recommended_scale_factor
    from tsfm_public.models.flowstate.utils.utils import get_fixed_factor

    assert recommended_scale_factor(ours) == pytest.approx(get_fixed_factor(upstream))


@pytest.mark.parametrize("freq", [None, "2h", "B", "7s"])
def test_no_recommendation_falls_back_to_the_checkpoint_with_a_warning(adapter, loaded, ckpts, co2, freq) -> None:
    from tollama_granite.flowstate import recommended_scale_factor

    assert recommended_scale_factor(freq) is None
    out = _call(adapter, loaded[FLOWSTATE], {"a": co2[-500:]}, 12, freq=freq)
    assert any("recommends no scale_factor" in w and "options.scale_factor" in w for w in out.warnings)
    _assert_parity(out, _direct(FLOWSTATE, ckpts[FLOWSTATE], {"a": co2[-500:]}, 12, options={"scale_factor": 1.0}))


def test_scale_factor_option_overrides_the_frequency(adapter, loaded, ckpts, co2) -> None:
    given = _call(adapter, loaded[FLOWSTATE], {"a": co2}, 24, freq="h", options={"scale_factor": 3.5})
    _assert_parity(given, _direct(FLOWSTATE, ckpts[FLOWSTATE], {"a": co2}, 24, options={"scale_factor": 3.5}))
    hourly = _call(adapter, loaded[FLOWSTATE], {"a": co2}, 24, freq="h")
    assert not np.allclose(given.series[0].mean, hourly.series[0].mean, rtol=1e-4)


def test_flowstate_horizon_limit_depends_on_the_scale(adapter, loaded, co2) -> None:
    from tollama_granite.flowstate import limits

    handle = loaded[FLOWSTATE].handle
    history, most = limits(handle, 6.0, 1)  # quarterly/yearly: 4-step patches, 341 points of history
    assert (history, most) == (341, 344)
    _call(adapter, loaded[FLOWSTATE], {"a": co2}, most, freq="QE")
    with pytest.raises(BadInput, match=f"at most {most} steps at scale_factor 6"):
        _call(adapter, loaded[FLOWSTATE], {"a": co2}, most + 1, freq="QE")


@pytest.mark.parametrize("bad", [0, -1.0, "fast", True, 25.0, float("nan")])
def test_bad_scale_factor_is_bad_input(adapter, loaded, co2, bad) -> None:
    with pytest.raises(BadInput, match="scale_factor"):
        _call(adapter, loaded[FLOWSTATE], {"a": co2}, 12, options={"scale_factor": bad})


# -- PatchTST-FM limits and shared traps --------------------------------------------------------------
def test_patchtst_fm_window_holds_history_and_horizon(adapter, loaded, co2) -> None:
    handle = loaded[PATCHTST_FM].handle
    assert (handle.context_length, handle.min_window, len(handle.levels)) == (8192, 128, 99)
    out = _call(adapter, loaded[PATCHTST_FM], {"a": co2}, 8191)
    assert out.series[0].mean.shape == (1, 8191)
    with pytest.raises(BadInput, match="at most 8191 steps"):
        _call(adapter, loaded[PATCHTST_FM], {"a": co2}, 8192)


@pytest.mark.parametrize("model", MODELS)
def test_all_missing_target_is_bad_input(adapter, loaded, model) -> None:
    with pytest.raises(BadInput, match="no observed value"):
        _call(adapter, loaded[model], {"a": np.full(100, np.nan)}, 12, freq="D")


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("kind", ["past", "future", "static"])
def test_covariates_that_reach_the_adapter_are_refused_not_ignored(adapter, loaded, co2, model, kind) -> None:
    # FlowState and PatchTST-FM read the targets only; their entries declare no covariates, so the gateway
    # drops or refuses them, and the adapter refuses any it still gets rather than ignoring them.
    n = 128
    given = {"static": {"site": "a"}}.get(kind, {"x": np.arange(n + (12 if kind == "future" else 0), dtype=np.float32)})
    series = SeriesInput(id="a", target=np.asarray(co2[-n:], np.float32)[None], **{f"{kind}_covariates": given})
    with pytest.raises(Unsupported, match=rf"{kind} covariates \['{next(iter(given))}'\]"):
        adapter.forecast(loaded[model], ForecastInput(12, (0.1, 0.5, 0.9), [series], freq="W"))


def test_load_dispatches_on_the_checkpoints_model_type(adapter, ckpts) -> None:
    from tollama_granite.flowstate import FlowStateHandle
    from tollama_granite.patchtst_fm import PatchTSTFMHandle

    # the registry name does not decide: the checkpoint's config.json does
    assert isinstance(adapter.load("my-copy", ckpts[FLOWSTATE], "cpu", {}).handle, FlowStateHandle)
    assert isinstance(adapter.load("my-copy", ckpts[PATCHTST_FM], "cpu", {}).handle, PatchTSTFMHandle)
