"""The chronos family against chronos-forecasting itself: the kit's contract suite, parity with
the library called directly on real data (statsmodels co2 and macrodata), the covariate policy,
and the family's traps. Checkpoints are tiny random ones built by ``checkpoints.py``."""

from __future__ import annotations

from typing import Any

import direct
import msgspec
import numpy as np
import pytest
from conftest import MODELS
from tollama_chronos.adapter import create_adapter
from tollama_kit import protocol as wire
from tollama_kit.adapter import ForecastInput, SeriesInput
from tollama_kit.arrays import pack
from tollama_kit.contract import ContractCase, WorkerContract

QUANTILES = [0.1, 0.5, 0.9]


# -- helpers ------------------------------------------------------------------------------------
def _wire_cov(values: np.ndarray) -> bytes | list[str]:
    return [str(v) for v in values] if values.dtype.kind in "USO" else pack(values)


def _wire_series(
    sid: str, target: np.ndarray, past: dict | None = None, future: dict | None = None, static: dict | None = None
) -> wire.Series:
    target = np.atleast_2d(np.asarray(target, dtype=np.float32))
    return wire.Series(
        id=sid,
        target=pack(target),
        length=target.shape[1],
        n_targets=target.shape[0],
        past_covariates={k: _wire_cov(np.asarray(v)) for k, v in (past or {}).items()},
        future_covariates={k: _wire_cov(np.asarray(v)) for k, v in (future or {}).items()},
        static_covariates=dict(static or {}),
    )


def _post(
    client: Any, key: str, horizon: int, series: list[wire.Series], quantiles: list[float] = QUANTILES, **options: Any
) -> tuple[int, Any]:
    batch = wire.ForecastBatch(key=key, horizon=horizon, quantiles=quantiles, series=series, options=options)
    resp = client.post("/v1/forecast", content=wire.encode(batch), headers={"content-type": wire.CONTENT_TYPE})
    if resp.status_code != 200:
        return resp.status_code, msgspec.msgpack.decode(resp.content, type=wire.WorkerError)
    return 200, wire.decoder(wire.ForecastResult).decode(resp.content)


def _arrays(result: wire.ForecastResult, horizon: int) -> list[tuple[np.ndarray, np.ndarray]]:
    n_levels = len(result.quantiles)
    return [
        (
            np.frombuffer(s.mean, "<f4").reshape(s.n_targets, horizon),
            np.frombuffer(s.quantiles, "<f4").reshape(n_levels, s.n_targets, horizon),
        )
        for s in result.series
    ]


def _ok(client: Any, key: str, horizon: int, series: list[wire.Series], **kw: Any) -> tuple[list, list[str]]:
    status, result = _post(client, key, horizon, series, **kw)
    assert status == 200, result
    return _arrays(result, horizon), result.warnings


def _request(horizon: int, series: list[dict], quantiles: list[float] = QUANTILES, **options: Any) -> dict:
    return {"horizon": horizon, "quantiles": quantiles, "series": series, "options": options}


def _json(values: np.ndarray) -> list:
    return values.tolist() if values.dtype.kind not in "USO" else [str(v) for v in values]


def _direct(kind: str, ckpts: dict[str, str], request: dict) -> list[tuple[np.ndarray, np.ndarray]]:
    out = direct.run(MODELS[kind], direct.load(MODELS[kind], ckpts[kind]), request)
    return [(np.asarray(s["mean"], np.float32), np.asarray(s["quantiles"], np.float32)) for s in out["series"]]


# -- the kit's contract suite, once per pipeline class ---------------------------------------------
class TestBoltContract(WorkerContract):
    @pytest.fixture(scope="class")
    @classmethod
    def contract_case(cls, ckpts: dict[str, str]) -> ContractCase:
        return ContractCase(adapter_factory=create_adapter, name=MODELS["bolt"], path=ckpts["bolt"])


class TestChronos2Contract(WorkerContract):
    @pytest.fixture(scope="class")
    @classmethod
    def contract_case(cls, ckpts: dict[str, str]) -> ContractCase:
        return ContractCase(adapter_factory=create_adapter, name=MODELS["chronos2"], path=ckpts["chronos2"])


class TestT5Contract(WorkerContract):
    @pytest.fixture(scope="class")
    @classmethod
    def contract_case(cls, ckpts: dict[str, str]) -> ContractCase:
        # Sampling model: the default seed makes every forecast reproducible per series.
        return ContractCase(
            adapter_factory=create_adapter, name=MODELS["t5"], path=ckpts["t5"], horizon=8, options={"num_samples": 8}
        )


# -- parity with the library called directly ----------------------------------------------------
@pytest.mark.parametrize("kind", ["bolt", "chronos2", "t5"])
def test_parity_on_co2(kind: str, workers: dict, ckpts: dict[str, str], co2: np.ndarray) -> None:
    options = {"context_length": 512, **({"seed": 7, "num_samples": 20} if kind == "t5" else {})}
    (got,), _ = _ok(workers[kind], kind, 24, [_wire_series("co2", co2)], **options)
    (want,) = _direct(kind, ckpts, _request(24, [{"id": "co2", "target": [co2.tolist()]}], **options))
    np.testing.assert_allclose(got[0], want[0], rtol=1e-4, atol=1e-3)
    # The adapter's only change to the library's quantiles: crossing repaired by sorting the levels.
    np.testing.assert_allclose(got[1], np.sort(want[1], axis=0), rtol=1e-4, atol=1e-3)
    assert got[0].shape == (1, 24)
    assert got[1].shape == (3, 1, 24)


def test_t5_seed_changes_the_samples(workers: dict, co2: np.ndarray) -> None:
    series = [_wire_series("co2", co2[-200:])]
    (a,), _ = _ok(workers["t5"], "t5", 8, series, seed=1, num_samples=8)
    (b,), _ = _ok(workers["t5"], "t5", 8, series, seed=2, num_samples=8)
    (c,), _ = _ok(workers["t5"], "t5", 8, series, seed=1, num_samples=8)
    assert not np.allclose(a[0], b[0])
    np.testing.assert_array_equal(a[0], c[0])


def _macro_case(macro: Any, horizon: int, categorical: bool) -> tuple[np.ndarray, dict, dict]:
    gdp = macro["realgdp"].to_numpy(np.float32)
    n = len(gdp) - horizon
    past = {"realcons": macro["realcons"].to_numpy(np.float32)[:n]}
    future = {"realinv": macro["realinv"].to_numpy(np.float32)}
    if categorical:
        future["quarter"] = np.asarray([f"Q{int(q)}" for q in macro["quarter"]], dtype=object)
    return gdp[:n], past, future


@pytest.mark.parametrize("categorical", [False, True], ids=["numeric", "with-categorical"])
def test_chronos2_covariate_parity_on_macrodata(
    categorical: bool, workers: dict, ckpts: dict[str, str], macro: Any
) -> None:
    horizon = 8
    target, past, future = _macro_case(macro, horizon, categorical)
    (got,), warnings = _ok(
        workers["chronos2"], "chronos2", horizon, [_wire_series("gdp", target, past=past, future=future)]
    )
    assert warnings == []
    req = {
        "id": "gdp",
        "target": [target.tolist()],
        "past_covariates": {k: _json(v) for k, v in past.items()},
        "future_covariates": {k: _json(v) for k, v in future.items()},
    }
    (want,) = _direct("chronos2", ckpts, _request(horizon, [req]))
    np.testing.assert_allclose(got[0], want[0], rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(got[1], np.sort(want[1], axis=0), rtol=1e-4, atol=1e-3)
    # ... and the covariates are really used: without them the forecast differs.
    (bare,), _ = _ok(workers["chronos2"], "chronos2", horizon, [_wire_series("gdp", target)])
    assert not np.allclose(bare[0], got[0], rtol=1e-4)


def test_chronos2_future_covariate_horizon_values_matter(workers: dict, macro: Any) -> None:
    target, past, future = _macro_case(macro, 8, categorical=False)
    (a,), _ = _ok(workers["chronos2"], "chronos2", 8, [_wire_series("g", target, past=past, future=future)])
    shifted = dict(future)
    shifted["realinv"] = future["realinv"].copy()
    shifted["realinv"][-8:] *= 3.0  # change only the horizon part
    (b,), _ = _ok(workers["chronos2"], "chronos2", 8, [_wire_series("g", target, past=past, future=shifted)])
    assert not np.allclose(a[0], b[0], rtol=1e-4)


# -- covariates the kind cannot use: the gateway drops or refuses them; a worker that gets them refuses
@pytest.mark.parametrize("mode", [None, "best_effort", "strict"])
@pytest.mark.parametrize(
    ("kind", "given", "named"),
    [
        ("t5", {"past": {"x": np.arange(100, dtype=np.float32)}}, "past covariates ['x']"),
        ("bolt", {"past": {"x": np.arange(100, dtype=np.float32)}}, "past covariates ['x']"),
        ("bolt", {"future": {"f": np.arange(106, dtype=np.float32)}}, "future covariates ['f']"),
        ("bolt", {"static": {"site": "a"}}, "static covariates ['site']"),
        ("chronos2", {"static": {"region": "north"}}, "static covariates ['region']"),
    ],
)
def test_unusable_covariates_that_reach_the_worker_are_refused(
    kind: str, given: dict, named: str, mode: str | None, workers: dict, co2: np.ndarray
) -> None:
    s = _wire_series("s", co2[-100:], **given)
    options = {"covariates_mode": mode} if mode else {}
    status, err = _post(workers[kind], kind, 6, [s], num_samples=4, **options)
    assert status == 422
    assert err.code == "unsupported"
    assert named in err.message


# -- traps --------------------------------------------------------------------------------------
def test_chronos2_multivariate_keeps_variate_order(workers: dict, macro: Any) -> None:
    a = macro["realgdp"].to_numpy(np.float32)
    b = macro["realcons"].to_numpy(np.float32)
    (ab,), _ = _ok(workers["chronos2"], "chronos2", 6, [_wire_series("m", np.stack([a, b]))])
    (ba,), _ = _ok(workers["chronos2"], "chronos2", 6, [_wire_series("m", np.stack([b, a]))])
    assert ab[0].shape == (2, 6)
    assert ab[1].shape == (3, 2, 6)
    np.testing.assert_allclose(ab[0], ba[0][::-1], rtol=1e-4, atol=1e-3)
    (alone,), _ = _ok(workers["chronos2"], "chronos2", 6, [_wire_series("u", a)])
    assert not np.allclose(alone[0][0], ab[0][0], rtol=1e-5), "variates must be forecast jointly"


def test_bolt_multivariate_is_forecast_per_variate(workers: dict, macro: Any) -> None:
    a = macro["realgdp"].to_numpy(np.float32)
    b = macro["realcons"].to_numpy(np.float32)
    (both,), warnings = _ok(workers["bolt"], "bolt", 6, [_wire_series("m", np.stack([a, b]))])
    (only_b,), _ = _ok(workers["bolt"], "bolt", 6, [_wire_series("b", b)])
    np.testing.assert_allclose(both[0][1], only_b[0][0], rtol=1e-5)
    assert any("forecast independently" in w for w in warnings)


def test_mixed_schemas_in_one_fused_batch(ckpts: dict[str, str], macro: Any) -> None:
    adapter = create_adapter()
    loaded = adapter.load(MODELS["chronos2"], ckpts["chronos2"], "cpu", {})
    target, past, future = _macro_case(macro, 8, categorical=True)
    with_cov = SeriesInput(id="cov", target=target[None], past_covariates=past, future_covariates=future)
    plain = SeriesInput(id="plain", target=target[None, -80:])
    two = SeriesInput(id="two", target=np.stack([target, target * 0.5]), future_covariates=future)
    fused = adapter.forecast(loaded, ForecastInput(horizon=8, quantiles=(0.5,), series=[with_cov, plain, two]))
    assert [s.id for s in fused.series] == ["cov", "plain", "two"]
    for s in (with_cov, plain, two):
        alone = adapter.forecast(loaded, ForecastInput(horizon=8, quantiles=(0.5,), series=[s])).series[0]
        got = next(o for o in fused.series if o.id == s.id)
        np.testing.assert_allclose(got.mean, alone.mean, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("kind", ["bolt", "chronos2"])
def test_requested_level_order_and_interpolation(kind: str, workers: dict, co2: np.ndarray) -> None:
    series = [_wire_series("s", co2[-300:])]
    (ordered,), w1 = _ok(workers[kind], kind, 12, series, quantiles=[0.1, 0.5, 0.9])
    (shuffled,), w2 = _ok(workers[kind], kind, 12, series, quantiles=[0.9, 0.1, 0.5])
    assert w1 == w2 == []
    np.testing.assert_allclose(shuffled[1], ordered[1][[2, 0, 1]])
    (off,), w3 = _ok(workers[kind], kind, 12, series, quantiles=[0.005, 0.5, 0.33])
    assert len(w3) == 1
    assert "0.33" in w3[0]
    assert "clamped" in w3[0]
    assert off[1].shape == (3, 1, 12)


def test_context_length_uses_only_the_last_points(workers: dict, co2: np.ndarray) -> None:
    (trimmed,), _ = _ok(workers["bolt"], "bolt", 12, [_wire_series("s", co2)], context_length=100)
    (short,), _ = _ok(workers["bolt"], "bolt", 12, [_wire_series("s", co2[-100:])])
    (full,), _ = _ok(workers["bolt"], "bolt", 12, [_wire_series("s", co2)])
    np.testing.assert_allclose(trimmed[0], short[0], rtol=1e-5)
    assert not np.allclose(trimmed[0], full[0], rtol=1e-5)


@pytest.mark.parametrize("kind", ["bolt", "chronos2", "t5"])
def test_missing_values_and_short_series(kind: str, workers: dict, co2: np.ndarray) -> None:
    gappy = co2[-120:].copy()
    gappy[[0, 1, 50, 51, 52, 119]] = np.nan
    (got, short), _ = _ok(
        workers[kind], kind, 6, [_wire_series("g", gappy), _wire_series("s", co2[-5:])], num_samples=4
    )
    assert np.isfinite(got[0]).all()
    assert np.isfinite(short[0]).all()
    empty = co2[-50:].copy()
    empty[-20:] = np.nan
    status, err = _post(workers[kind], kind, 6, [_wire_series("e", empty)], context_length=20, num_samples=4)
    assert status == 400
    assert err.code == "bad_input"
    assert "no observed value" in err.message


def test_horizon_limits_and_long_horizon_warning(workers: dict, co2: np.ndarray) -> None:
    series = [_wire_series("s", co2[-256:])]
    status, err = _post(workers["bolt"], "bolt", 513, series)
    assert status == 400
    assert err.code == "bad_input"
    assert "512" in err.message
    (got,), warnings = _ok(workers["bolt"], "bolt", 80, series)
    assert got[0].shape == (1, 80)
    assert np.isfinite(got[1]).all()
    assert any("prediction length" in w for w in warnings)


def test_t5_chunks_samples_and_unseeded_batching(workers: dict, co2: np.ndarray) -> None:
    series = [_wire_series("a", co2[-64:]), _wire_series("b", co2[-96:])]
    (a, b), _ = _ok(workers["t5"], "t5", 4, series, num_samples=12, max_sequences=5)
    assert a[1].shape == (3, 1, 4)
    assert np.isfinite(b[1]).all()
    (a2, b2), _ = _ok(workers["t5"], "t5", 4, series, num_samples=6, seed=-1, max_sequences=12)
    assert np.isfinite(a2[0]).all()
    assert np.isfinite(b2[0]).all()


def test_bad_options_are_bad_input(workers: dict, co2: np.ndarray, ckpts: dict[str, str]) -> None:
    series = [_wire_series("s", co2[-64:])]
    for options in ({"num_samples": 0}, {"context_length": "many"}, {"backend": "tpu"}):
        status, err = _post(workers["t5"], "t5", 4, series, **options)
        assert (status, err.code) == (400, "bad_input"), options
    client = workers["bolt"]
    req = wire.LoadRequest(
        key="bad-dtype", name=MODELS["bolt"], path=ckpts["bolt"], device="cpu", options={"dtype": "int8"}
    )
    resp = client.post("/v1/load", content=wire.encode(req), headers={"content-type": wire.CONTENT_TYPE})
    assert resp.status_code == 400


def test_info_reports_versions_and_memory(workers: dict) -> None:
    info = msgspec.msgpack.decode(workers["bolt"].get("/v1/info").content, type=wire.Info)
    assert info.versions["chronos-forecasting"] == "2.3.2"
    held = {m.key: m for m in info.loaded}
    assert {"t5", "bolt", "chronos2"} <= set(held)
    assert all(held[k].memory_bytes > 10_000 for k in ("t5", "bolt", "chronos2"))


def test_checkpoints_are_seeded_and_in_the_hub_layout(tmp_path: Any) -> None:
    import checkpoints

    a = checkpoints.build("chronos-bolt-tiny", tmp_path / "a")
    b = checkpoints.build("chronos-bolt-tiny", tmp_path / "b")
    assert sorted(p.name for p in a.iterdir()) == ["config.json", "model.safetensors"]
    assert (a / "model.safetensors").read_bytes() == (b / "model.safetensors").read_bytes()
    t5 = checkpoints.build("chronos-t5-mini", tmp_path / "t5")
    assert sorted(p.name for p in t5.iterdir()) == ["config.json", "generation_config.json", "model.safetensors"]
