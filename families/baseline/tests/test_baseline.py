"""The baseline family: contract suite, parity with statsforecast on real data, and its traps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest
from checkpoints import build_checkpoint
from direct import direct_forecast
from litestar.testing import TestClient
from statsforecast.models import Naive
from tollama_baseline.adapter import MAX_HORIZON, create_adapter
from tollama_baseline.seasonality import season_length_for
from tollama_kit import protocol as wire
from tollama_kit.arrays import pack
from tollama_kit.contract import ContractCase, WorkerContract

QUANTILES = [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95]
MODELS = ["naive", "seasonal-naive", "auto-ets", "auto-theta"]


# -- helpers ------------------------------------------------------------------------------
def _post(client: TestClient[Any], path: str, msg: msgspec.Struct) -> Any:
    return client.post(path, content=wire.encode(msg), headers={"content-type": wire.CONTENT_TYPE})


def _series(sid: str, target: np.ndarray, **covariates: Any) -> wire.Series:
    target = np.atleast_2d(np.asarray(target, dtype=np.float32))
    return wire.Series(id=sid, target=pack(target), length=target.shape[1], n_targets=target.shape[0], **covariates)


def _call(
    client: TestClient[Any],
    key: str,
    series: list[wire.Series],
    horizon: int,
    *,
    quantiles: list[float] = QUANTILES,
    freq: str | None = None,
    options: dict[str, Any] | None = None,
) -> Any:
    batch = wire.ForecastBatch(
        key=key, horizon=horizon, quantiles=quantiles, series=series, freq=freq, options=options or {}
    )
    return _post(client, "/v1/forecast", batch)


def _forecast(client: TestClient[Any], key: str, series: list[wire.Series], horizon: int, **kw: Any):  # type: ignore[no-untyped-def]
    resp = _call(client, key, series, horizon, **kw)
    assert resp.status_code == 200, resp.content
    result = wire.decoder(wire.ForecastResult).decode(resp.content)
    n_levels = len(result.quantiles)
    out = []
    for s in result.series:
        mean = np.frombuffer(s.mean, "<f4").reshape(s.n_targets, horizon)
        q = np.frombuffer(s.quantiles, "<f4").reshape(n_levels, s.n_targets, horizon)
        out.append((mean, q))
    return result, out


def _error(resp: Any) -> wire.WorkerError:
    return msgspec.msgpack.decode(resp.content, type=wire.WorkerError)


def _direct(model: str, path: Path, targets: dict[str, np.ndarray], horizon: int, options: dict[str, Any]) -> list[Any]:
    request = {
        "horizon": horizon,
        "quantiles": QUANTILES,
        "series": [{"id": sid, "target": np.atleast_2d(y).tolist()} for sid, y in targets.items()],
        "options": options,
    }
    result = direct_forecast(model, path, request)
    return [(np.asarray(s["mean"]), np.asarray(s["quantiles"])) for s in result["series"]]


# -- the kit's contract suite -------------------------------------------------------------
class TestNaiveContract(WorkerContract):
    @pytest.fixture(scope="class")
    @classmethod
    def contract_case(cls, tmp_path_factory: pytest.TempPathFactory) -> ContractCase:
        path = build_checkpoint("naive", tmp_path_factory.mktemp("naive"))
        return ContractCase(adapter_factory=create_adapter, name="naive", path=str(path), allows_missing=True)


class TestAutoThetaContract(WorkerContract):
    @pytest.fixture(scope="class")
    @classmethod
    def contract_case(cls, tmp_path_factory: pytest.TempPathFactory) -> ContractCase:
        path = build_checkpoint("auto-theta", tmp_path_factory.mktemp("auto-theta"))
        return ContractCase(adapter_factory=create_adapter, name="auto-theta", path=str(path), allows_missing=True)


# -- parity with statsforecast's own DataFrame API on real data -----------------------------
@pytest.mark.parametrize("model", MODELS)
def test_parity_airline(worker: TestClient[Any], snapshots: dict[str, Path], airline: np.ndarray, model: str) -> None:
    # freq "MS" must become season length 12 inside the adapter; the direct call is told 12 explicitly.
    _, [(mean, q)] = _forecast(worker, model, [_series("air", airline)], 24, freq="MS")
    [(d_mean, d_q)] = _direct(model, snapshots[model], {"air": airline}, 24, {"season_length": 12})
    np.testing.assert_allclose(mean, d_mean, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(q, d_q, rtol=1e-4, atol=1e-4)


def test_a_series_of_its_own_frequency_gets_its_own_season(
    worker: TestClient[Any], snapshots: dict[str, Path], airline: np.ndarray
) -> None:
    # One batch, freq "MS" (12); the second series says "QS" (4): each is the direct call with its season.
    quarterly = wire.Series(id="q", target=pack(np.atleast_2d(airline[:60].astype(np.float32))), length=60, freq="QS")
    _, [(m_mean, _), (q_mean, _)] = _forecast(worker, "seasonal-naive", [_series("m", airline), quarterly], 8, freq="MS")
    [(d_m, _)] = _direct("seasonal-naive", snapshots["seasonal-naive"], {"m": airline}, 8, {"season_length": 12})
    [(d_q, _)] = _direct("seasonal-naive", snapshots["seasonal-naive"], {"q": airline[:60]}, 8, {"season_length": 4})
    np.testing.assert_allclose(m_mean, d_m, rtol=1e-5)
    np.testing.assert_allclose(q_mean, d_q, rtol=1e-5)
    assert not np.allclose(d_m[0, :4], d_q[0, :4])  # the two seasons really differ


@pytest.mark.parametrize("model", MODELS)
def test_parity_co2(worker: TestClient[Any], snapshots: dict[str, Path], co2: np.ndarray, model: str) -> None:
    # Weekly ("W-SAT" → 52); six years of context keeps AutoETS's seasonal search to a few seconds.
    options = {"context_length": 312}
    _, [(mean, q)] = _forecast(worker, model, [_series("co2", co2)], 26, freq="W-SAT", options=options)
    [(d_mean, d_q)] = _direct(model, snapshots[model], {"co2": co2}, 26, {"season_length": 52, **options})
    np.testing.assert_allclose(mean, d_mean, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(q, d_q, rtol=1e-4, atol=1e-4)


def test_parity_multivariate_is_per_variate(
    worker: TestClient[Any], snapshots: dict[str, Path], airline: np.ndarray
) -> None:
    both = np.stack([airline, np.log(airline)])
    _, [(mean, q)] = _forecast(worker, "auto-theta", [_series("two", both)], 12, freq="MS")
    assert mean.shape == (2, 12) and q.shape == (len(QUANTILES), 2, 12)
    [(d_mean, d_q)] = _direct("auto-theta", snapshots["auto-theta"], {"two": both}, 12, {"season_length": 12})
    np.testing.assert_allclose(mean, d_mean, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(q, d_q, rtol=1e-4, atol=1e-4)


def test_quantiles_are_statsforecast_intervals(worker: TestClient[Any], airline: np.ndarray) -> None:
    _, [(mean, q)] = _forecast(worker, "naive", [_series("air", airline)], 6, quantiles=[0.1, 0.5, 0.975])
    ref = Naive().forecast(y=airline, h=6, level=[80, 95])
    np.testing.assert_allclose(q[0, 0], ref["lo-80"], rtol=1e-5)
    np.testing.assert_allclose(q[1, 0], ref["mean"], rtol=1e-5)
    np.testing.assert_allclose(q[2, 0], ref["hi-95"], rtol=1e-5)
    np.testing.assert_allclose(mean[0], ref["mean"], rtol=1e-5)


# -- options ------------------------------------------------------------------------------
def test_context_length_uses_only_the_last_points(
    worker: TestClient[Any], snapshots: dict[str, Path], co2: np.ndarray
) -> None:
    _, [(_, short)] = _forecast(worker, "naive", [_series("co2", co2)], 8, options={"context_length": 100})
    _, [(_, full)] = _forecast(worker, "naive", [_series("co2", co2)], 8)
    [(_, d_q)] = _direct("naive", snapshots["naive"], {"co2": co2}, 8, {"context_length": 100})
    np.testing.assert_allclose(short, d_q, rtol=1e-4, atol=1e-4)
    assert not np.allclose(short, full), "the residual spread of 100 points should differ from that of 2,284"


def test_season_length_option_overrides_freq(
    worker: TestClient[Any], snapshots: dict[str, Path], airline: np.ndarray
) -> None:
    _, [(mean, _)] = _forecast(
        worker, "seasonal-naive", [_series("air", airline)], 8, freq="MS", options={"season_length": 4}
    )
    [(d_mean, _)] = _direct("seasonal-naive", snapshots["seasonal-naive"], {"air": airline}, 8, {"season_length": 4})
    np.testing.assert_allclose(mean, d_mean, rtol=1e-5)
    np.testing.assert_allclose(mean[0, :4], airline[-4:], rtol=1e-5)


@pytest.mark.parametrize(
    ("freq", "season"),
    [
        ("h", 24), ("H", 24), ("2h", 12), ("5h", 1), ("D", 7), ("B", 5), ("W", 52), ("W-SUN", 52),
        ("M", 12), ("MS", 12), ("ME", 12), ("Q", 4), ("QS-DEC", 4), ("QE", 4), ("A", 1), ("Y", 1), ("YS", 1),
        ("min", 60), ("15min", 4), ("T", 60), ("s", 60), ("30s", 2), ("ms", 1), ("SM", 24), ("3D", 1),
        (None, None), ("fortnightly", None), ("", None),
    ],
)  # fmt: skip
def test_season_length_table(freq: str | None, season: int | None) -> None:
    assert season_length_for(freq) == season


def test_seasonal_model_without_freq_warns(worker: TestClient[Any], airline: np.ndarray) -> None:
    result, _ = _forecast(worker, "seasonal-naive", [_series("air", airline)], 4)
    assert any("season length 1" in w for w in result.warnings), result.warnings
    result, _ = _forecast(worker, "naive", [_series("air", airline)], 4)
    assert result.warnings == []


def test_bad_options_are_bad_input(worker: TestClient[Any], airline: np.ndarray) -> None:
    for options in ({"season_length": 0}, {"context_length": "many"}):
        resp = _call(worker, "naive", [_series("air", airline)], 4, options=options)
        assert resp.status_code == 400, options
        assert _error(resp).code == "bad_input"


# -- covariates: not used; the gateway drops or refuses them, a worker that gets them refuses ---
def _macro_series(macrodata: Any, horizon: int) -> tuple[np.ndarray, wire.Series]:
    y = macrodata["realgdp"].to_numpy(np.float32)[:-horizon]
    n = len(y)
    series = _series(
        "gdp",
        y,
        past_covariates={"realcons": pack(macrodata["realcons"].to_numpy(np.float32)[:n])},
        future_covariates={
            "realint": pack(macrodata["realint"].to_numpy(np.float32)[: n + horizon]),
            "quarter": [f"Q{int(v)}" for v in macrodata["quarter"].to_numpy()[: n + horizon]],
        },
        static_covariates={"country": "US"},
    )
    return y, series


@pytest.mark.parametrize("options", [{}, {"covariates_mode": "best_effort"}, {"covariates_mode": "strict"}])
def test_covariates_that_reach_the_worker_are_refused(worker: TestClient[Any], macrodata: Any, options: dict) -> None:
    # The gateway alone applies covariates_mode (the baselines declare no covariates); the worker ignores it.
    _, series = _macro_series(macrodata, 8)
    resp = _call(worker, "auto-theta", [series], 8, freq="QS", options=options)
    assert resp.status_code == 422
    err = _error(resp)
    assert err.code == "unsupported" and "past covariates ['realcons']" in err.message, err.message


# -- missing values, short series, limits ----------------------------------------------------
def test_missing_values_are_interpolated(worker: TestClient[Any], snapshots: dict[str, Path]) -> None:
    from statsmodels.datasets import co2 as co2_data

    raw = co2_data.load_pandas().data["co2"].to_numpy(np.float64)
    window = np.r_[raw[:400], np.nan, np.nan]  # co2 starts with many gaps (one of 18 weeks); two trailing ones
    assert np.isfinite(window[0]) and np.isnan(window[1:-2]).sum() > 20
    gappy = np.r_[np.full(5, np.nan), window]  # leading NaNs are dropped, not filled
    result, [(mean, q)] = _forecast(worker, "auto-theta", [_series("co2", gappy)], 13, freq="W")
    assert any("interpolation" in w for w in result.warnings), result.warnings
    filled = window.copy()
    idx = np.arange(len(filled))
    ok = np.isfinite(filled)
    filled[~ok] = np.interp(idx[~ok], idx[ok], filled[ok])  # np.interp holds the last value past the end
    assert filled[-1] == filled[-3] == raw[399]
    [(d_mean, d_q)] = _direct("auto-theta", snapshots["auto-theta"], {"co2": filled}, 13, {"season_length": 52})
    np.testing.assert_allclose(mean, d_mean, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(q, d_q, rtol=1e-4, atol=1e-4)


def test_all_missing_is_bad_input(worker: TestClient[Any]) -> None:
    resp = _call(worker, "naive", [_series("empty", np.full(20, np.nan))], 4)
    assert resp.status_code == 400 and _error(resp).code == "bad_input"


@pytest.mark.parametrize(
    ("model", "length", "freq"), [("seasonal-naive", 10, "MS"), ("auto-ets", 6, None), ("auto-theta", 3, None)]
)
def test_too_short_is_bad_input(worker: TestClient[Any], model: str, length: int, freq: str | None) -> None:
    # Upstream: SeasonalNaive returns NaN below one season; AutoETS/AutoTheta raise "tiny datasets".
    resp = _call(worker, model, [_series("short", np.arange(length, dtype=np.float32) + 1)], 4, freq=freq)
    assert resp.status_code == 400, resp.content
    assert "needs at least" in _error(resp).message


def test_horizon_limit(worker: TestClient[Any], airline: np.ndarray) -> None:
    resp = _call(worker, "naive", [_series("air", airline)], MAX_HORIZON + 1)
    assert resp.status_code == 400 and _error(resp).code == "bad_input"


def test_quantiles_must_be_inside_zero_one(worker: TestClient[Any], airline: np.ndarray) -> None:
    resp = _call(worker, "naive", [_series("air", airline)], 4, quantiles=[0.0, 0.5])
    assert resp.status_code == 400 and _error(resp).code == "bad_input"


# -- loading ----------------------------------------------------------------------------------
def test_unknown_name_falls_back_to_config_json(tmp_path: Path, airline: np.ndarray) -> None:
    path = build_checkpoint("auto-theta", tmp_path / "alias")
    with TestClient(create_worker_app_for_test()) as client:
        resp = _post(client, "/v1/load", wire.LoadRequest(key="k", name="my-theta", path=str(path), device="cpu"))
        assert resp.status_code == 200, resp.content
        _forecast(client, "k", [_series("air", airline)], 4, freq="MS")
        resp = _post(
            client, "/v1/load", wire.LoadRequest(key="x", name="nope", path=str(tmp_path / "empty"), device="cpu")
        )
        assert resp.status_code == 422 and _error(resp).code == "unsupported"


def test_same_forecast_as_the_named_model(worker: TestClient[Any], tmp_path: Path, airline: np.ndarray) -> None:
    path = build_checkpoint("auto-theta", tmp_path / "alias")
    adapter = create_adapter()
    loaded = adapter.load("alias-of-theta", str(path), "cpu", {})
    assert loaded.handle.spec.name == "auto-theta"
    _, [(via_worker, _)] = _forecast(worker, "auto-theta", [_series("air", airline)], 4, freq="MS")
    from tollama_kit.adapter import ForecastInput, SeriesInput

    out = adapter.forecast(
        loaded,
        ForecastInput(
            horizon=4, quantiles=(0.5,), series=[SeriesInput("air", airline[None].astype(np.float32))], freq="MS"
        ),
    )
    np.testing.assert_allclose(out.series[0].mean, via_worker, rtol=1e-6)


def test_load_options_are_forecast_defaults(airline: np.ndarray, tmp_path: Path) -> None:
    path = build_checkpoint("seasonal-naive", tmp_path / "snaive")
    with TestClient(create_worker_app_for_test()) as client:
        req = wire.LoadRequest(
            key="k", name="seasonal-naive", path=str(path), device="cpu", options={"season_length": 3}
        )
        assert _post(client, "/v1/load", req).status_code == 200
        _, [(mean, _)] = _forecast(client, "k", [_series("air", airline)], 6)
        np.testing.assert_allclose(mean[0], np.tile(airline[-3:], 2), rtol=1e-6)


def create_worker_app_for_test() -> Any:
    from tollama_kit.server import create_worker_app

    return create_worker_app(create_adapter())


def test_series_warnings_stay_with_their_series(snapshots: dict[str, Path], airline: np.ndarray) -> None:
    from tollama_baseline.adapter import PER_SERIES_WARNINGS
    from tollama_kit.adapter import ForecastInput, SeriesInput

    adapter = create_adapter()
    loaded = adapter.load("naive", str(snapshots["naive"]), "cpu", {})
    gappy = airline.astype(np.float32).copy()
    gappy[50:53] = np.nan
    batch = ForecastInput(
        horizon=3,
        quantiles=(0.5,),
        series=[SeriesInput("clean", airline[None].astype(np.float32)), SeriesInput("gappy", gappy[None])],
    )
    out = adapter.forecast(loaded, batch)
    if PER_SERIES_WARNINGS:
        assert out.warnings == [] and out.series[0].warnings == []  # type: ignore[attr-defined]
        assert ["gappy" in w and "interpolation" in w for w in out.series[1].warnings] == [True]  # type: ignore[attr-defined]
    else:
        assert ["gappy" in w and "interpolation" in w for w in out.warnings] == [True]


def test_off_centre_simulated_intervals_are_sorted(worker: TestClient[Any], snapshots: dict[str, Path]) -> None:
    # AutoTheta's intervals come from seeded simulations: on a straight line the point forecast lies
    # above its own 80% interval at step 3, so "q=0.5 is the point forecast" would cross q=0.9.
    line = np.arange(1, 13, dtype=np.float64)
    _, [(mean, q)] = _forecast(worker, "auto-theta", [_series("line", line)], 3, quantiles=[0.1, 0.5, 0.9])
    assert (np.diff(q, axis=0) >= 0).all()
    assert q[2, 0, 2] == mean[0, 2] and q[1, 0, 2] < mean[0, 2], "the point forecast moved to the top level"
    request = {"horizon": 3, "quantiles": [0.1, 0.5, 0.9], "series": [{"id": "line", "target": [line.tolist()]}]}
    direct = direct_forecast("auto-theta", snapshots["auto-theta"], request)["series"][0]
    np.testing.assert_allclose(q, np.asarray(direct["quantiles"]), rtol=1e-5)
