"""granite family: the kit's contract, parity with granite-tsfm called directly, covariates, traps.

Everything runs on tiny randomly initialised checkpoints (tests/checkpoints.py) built once.
"""

from __future__ import annotations

import numpy as np
import pytest
from checkpoints import build
from direct import direct_forecast
from tollama_kit.adapter import ForecastInput, SeriesInput
from tollama_kit.contract import ContractCase, WorkerContract
from tollama_kit.errors import BadInput, LoadFailed, Unsupported

pytestmark = [
    pytest.mark.family("granite"),
    # transformers 5.24 / granite-tsfm 0.3.11 import-time deprecations (third-party noise only).
    pytest.mark.filterwarnings("ignore::FutureWarning:transformers.*"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

LEVELS = (0.1, 0.5, 0.9)


class TestGraniteContract(WorkerContract):
    @pytest.fixture(scope="class")
    @classmethod
    def contract_case(cls, tmp_path_factory: pytest.TempPathFactory) -> ContractCase:
        from tollama_granite.adapter import create_adapter

        path = build("granite-ttm-r2", tmp_path_factory.mktemp("contract"))
        return ContractCase(
            adapter_factory=create_adapter,
            name="granite-ttm-r2",
            path=str(path),
            horizon=12,
            context=64,
            allows_missing=True,
        )


def _request(series: dict[str, np.ndarray], horizon: int, options: dict, **covs) -> dict:
    out = []
    for sid, y in series.items():
        item = {"id": sid, "target": np.atleast_2d(y).tolist()}
        item.update({k: {n: np.asarray(v).tolist() for n, v in d.items()} for k, d in covs.items()})
        out.append(item)
    return {"horizon": horizon, "quantiles": list(LEVELS), "series": out, "options": options}


def _adapter_call(adapter, loaded, req: dict):
    series = [
        SeriesInput(
            id=s["id"],
            target=np.asarray(s["target"], np.float32),
            past_covariates={k: np.asarray(v, np.float32) for k, v in s.get("past_covariates", {}).items()},
            future_covariates={k: np.asarray(v, np.float32) for k, v in s.get("future_covariates", {}).items()},
        )
        for s in req["series"]
    ]
    return adapter.forecast(
        loaded,
        ForecastInput(horizon=req["horizon"], quantiles=tuple(req["quantiles"]), series=series, options=req["options"]),
    )


def _assert_parity(out, expected: dict) -> None:
    for got, want in zip(out.series, expected["series"], strict=True):
        assert got.id == want["id"]
        np.testing.assert_allclose(got.mean, np.asarray(want["mean"]), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(got.quantiles, np.asarray(want["quantiles"]), rtol=1e-4, atol=1e-4)


# -- parity with granite-tsfm called directly ------------------------------------------------------
@pytest.mark.parametrize("options", [{"calibration_windows": 12}, {"calibration_windows": 12, "context_length": 200}])
def test_parity_co2(adapter, loaded, ckpt_512_96, co2, options) -> None:
    req = _request({"co2": co2, "co2-early": co2[:700]}, 24, options)
    out = _adapter_call(adapter, loaded, req)
    _assert_parity(out, direct_forecast("granite-ttm-r2", ckpt_512_96, req))
    assert not np.allclose(out.series[0].quantiles[0], out.series[0].quantiles[2])  # real intervals


def test_parity_airline_short_history(adapter, loaded, ckpt_512_96, airline) -> None:
    # 144 points < the 512-point context: the model left-pads (unobserved zeros) on both sides.
    req = _request({"airline": airline, "airline-36": airline[:36]}, 12, {})
    out = _adapter_call(adapter, loaded, req)
    _assert_parity(out, direct_forecast("granite-ttm-r2", ckpt_512_96, req))
    assert any("too little history" in w and "airline-36" in w for w in out.warnings)


def test_horizon_shorter_than_prediction_length_equals_prediction_filter_length(adapter, loaded, co2) -> None:
    long = _adapter_call(adapter, loaded, _request({"a": co2}, 96, {"calibration_windows": 0}))
    short = _adapter_call(adapter, loaded, _request({"a": co2}, 7, {"calibration_windows": 0}))
    np.testing.assert_allclose(short.series[0].mean, long.series[0].mean[:, :7], rtol=1e-5)


# -- traps ---------------------------------------------------------------------------------------------
def test_horizon_beyond_prediction_length_is_refused(adapter, loaded, co2) -> None:
    with pytest.raises(BadInput, match="at most 96"):
        _adapter_call(adapter, loaded, _request({"a": co2}, 97, {}))


def test_context_length_option_is_respected(adapter, loaded, co2) -> None:
    opts = {"calibration_windows": 0}
    cut = _adapter_call(adapter, loaded, _request({"a": co2}, 24, {**opts, "context_length": 100}))
    tail = _adapter_call(adapter, loaded, _request({"a": co2[-100:]}, 24, opts))
    full = _adapter_call(adapter, loaded, _request({"a": co2}, 24, opts))
    np.testing.assert_allclose(cut.series[0].mean, tail.series[0].mean, rtol=1e-5)
    assert not np.allclose(cut.series[0].mean, full.series[0].mean, rtol=1e-3)


def test_multivariate_targets_are_channel_independent(adapter, loaded, co2, airline) -> None:
    opts = {"calibration_windows": 40}
    b = np.resize(airline, co2.shape[0])
    both = _adapter_call(adapter, loaded, _request({"ab": np.stack([co2, b])}, 12, opts)).series[0]
    alone = [_adapter_call(adapter, loaded, _request({"x": y}, 12, opts)).series[0] for y in (co2, b)]
    assert both.mean.shape == (2, 12) and both.quantiles.shape == (3, 2, 12)
    for c, one in enumerate(alone):
        np.testing.assert_allclose(both.mean[c], one.mean[0], rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(both.quantiles[:, c], one.quantiles[:, 0], rtol=1e-4, atol=1e-4)


def test_conformal_quantiles_are_monotone_and_cover(adapter, loaded, co2) -> None:
    levels = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
    horizon, inside80, total = 12, 0, 0
    origins = range(900, co2.shape[0] - horizon, 60)
    series = [SeriesInput(id=str(t), target=co2[None, :t]) for t in origins]
    out = adapter.forecast(
        loaded, ForecastInput(horizon=horizon, quantiles=levels, series=series, options={"calibration_windows": 100})
    )
    assert not out.warnings
    for t, s in zip(origins, out.series, strict=True):
        assert (np.diff(s.quantiles, axis=0) >= -1e-4).all(), "quantiles must be non-decreasing in the level"
        np.testing.assert_allclose(s.quantiles[3], s.mean, rtol=1e-6)
        actual = co2[t : t + horizon]
        inside80 += int(((s.quantiles[1, 0] <= actual) & (actual <= s.quantiles[5, 0])).sum())
        total += horizon
    coverage = inside80 / total
    assert 0.65 <= coverage <= 0.95, f"80% interval covered {coverage:.2f} of held-out points"


def test_too_little_history_gives_mean_with_warning(adapter, loaded, co2) -> None:
    out = _adapter_call(adapter, loaded, _request({"tiny": co2[:40]}, 24, {}))
    s = out.series[0]
    assert all(np.array_equal(q, s.mean) for q in s.quantiles)
    assert out.warnings and "points only" in out.warnings[0]


def test_bad_options_are_bad_input(adapter, loaded, co2) -> None:
    with pytest.raises(BadInput, match="impute"):
        _adapter_call(adapter, loaded, _request({"a": co2}, 12, {"impute": "spline"}))
    with pytest.raises(BadInput, match="context_length"):
        _adapter_call(adapter, loaded, _request({"a": co2}, 12, {"context_length": 0}))
    with pytest.raises(BadInput, match="no observed value"):
        _adapter_call(adapter, loaded, _request({"a": np.full(100, np.nan)}, 12, {}))


# -- covariates --------------------------------------------------------------------------------------
def _macro_request(macro, options, **which):
    y = macro["realgdp"].to_numpy(np.float32)
    h = 8
    covs = {}
    if which.get("future"):
        covs["future_covariates"] = {
            "realgovt": np.append(macro["realgovt"].to_numpy(np.float32), np.linspace(1100, 1150, h, dtype=np.float32))
        }
    if which.get("past"):
        covs["past_covariates"] = {"unemp": macro["unemp"].to_numpy(np.float32)}
    return _request({"gdp": y}, h, options, **covs)


def test_covariates_parity_with_library_pipeline(adapter, loaded, ckpt_512_96, macro) -> None:
    opts = {"context_length": 64, "calibration_windows": 10, "seed": 3}
    req = _macro_request(macro, opts, future=True, past=True)
    out = _adapter_call(adapter, loaded, req)
    _assert_parity(out, direct_forecast("granite-ttm-r2", ckpt_512_96, req))
    assert any("not contain" in w and "fine-tuning" in w for w in out.warnings)
    plain = _adapter_call(adapter, loaded, _macro_request(macro, opts))
    assert not np.allclose(out.series[0].mean, plain.series[0].mean, rtol=1e-3), "covariates must reach the model"
    assert (np.diff(out.series[0].quantiles, axis=0) >= -1e-4).all()


@pytest.mark.parametrize("mode", [None, "best_effort", "strict"])
def test_unusable_covariates_that_reach_the_adapter_are_refused(adapter, loaded, macro, mode) -> None:
    # The gateway alone applies covariates_mode (TinyTimeMixer's entries declare no static or categorical ones).
    y = macro["realgdp"].to_numpy(np.float32)
    cat = np.asarray(["a", "b"] * 101 + ["a"], dtype=object)
    series = [
        SeriesInput(id="gdp", target=y[None], past_covariates={"regime": cat}, static_covariates={"country": "us"})
    ]
    options = {"context_length": 64, "calibration_windows": 20, **({"covariates_mode": mode} if mode else {})}
    with pytest.raises(Unsupported, match="categorical") as info:
        adapter.forecast(loaded, ForecastInput(8, LEVELS, series, options=options))
    assert "static covariates ['country']" in info.value.message


# -- variant facts ---------------------------------------------------------------------------------
def test_variant_catalogue_matches_granite_tsfm() -> None:
    import importlib.resources

    import yaml
    from tollama_granite.variants import VARIANTS

    text = importlib.resources.files("tsfm_public.resources.model_paths_config").joinpath("ttm.yaml").read_text()
    upstream = {
        (m["context_length"], m["prediction_length"]): m["revision"]
        for m in yaml.safe_load(text)["ibm-granite-models"].values()
        if m["release"] == "r2"
    }
    ours = {(v.context_length, v.prediction_length): v.revision for v in VARIANTS.values()}
    assert ours == upstream
    assert VARIANTS["granite-ttm-r2"].revision == "main"
    assert VARIANTS["granite-ttm-r2-1536-720"].revision == "1536-720-r2"


@pytest.mark.parametrize(
    ("context", "horizon", "expected"),
    [
        (2000, 24, "granite-ttm-r2-1536-96"),
        (1100, 150, "granite-ttm-r2-1024-192"),
        (600, 96, "granite-ttm-r2"),
        (100, 400, "granite-ttm-r2-512-720"),
        (5000, 721, None),
    ],
)
def test_pick_variant(context, horizon, expected) -> None:
    from tollama_granite.variants import pick_variant

    got = pick_variant(context, horizon)
    assert (got.name if got else None) == expected


def test_loaded_variant_reports_its_own_limits(adapter, tmp_path, co2) -> None:
    path = str(build("granite-ttm-r2-1024-192", tmp_path / "v"))
    loaded = adapter.load("granite-ttm-r2-1024-192", path, "cpu", {})
    assert (loaded.handle.context_length, loaded.handle.prediction_length) == (1024, 192)
    out = adapter.forecast(
        loaded, ForecastInput(192, LEVELS, [SeriesInput("a", co2[None])], options={"calibration_windows": 10})
    )
    assert out.series[0].mean.shape == (1, 192)
    with pytest.raises(BadInput, match="at most 192"):
        adapter.forecast(loaded, ForecastInput(193, LEVELS, [SeriesInput("a", co2[None])]))
    with pytest.raises(LoadFailed, match="512-96"):
        adapter.load("granite-ttm-r2", path, "cpu", {})


def test_frequency_prefix_checkpoints_get_a_frequency_token(adapter, tmp_path, co2) -> None:
    path = str(build("granite-ttm-r2", tmp_path / "ft", prefix_tuning=True))
    loaded = adapter.load("granite-ttm-r2", path, "cpu", {})
    opts = {"calibration_windows": 0}
    hourly = adapter.forecast(loaded, ForecastInput(12, LEVELS, [SeriesInput("a", co2[None])], freq="h", options=opts))
    weekly = adapter.forecast(loaded, ForecastInput(12, LEVELS, [SeriesInput("a", co2[None])], freq="W", options=opts))
    assert not np.allclose(hourly.series[0].mean, weekly.series[0].mean)


def test_the_options_struct_names_every_impute_method_and_conformal_score() -> None:
    """options.py spells the choices out (it imports only msgspec); they must stay the modules' own."""
    import typing

    from tollama_granite.conformal import SCORES
    from tollama_granite.options import Impute, Score
    from tollama_granite.windows import IMPUTE_METHODS

    assert typing.get_args(Impute) == IMPUTE_METHODS
    assert typing.get_args(Score) == SCORES
