"""Sundial family: contract suite, parity with the upstream library, covariate policy, traps.

Run from the repository root with the family environment:
``<env>/bin/python -m pytest families/sundial/tests -q``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest
import sundial_checkpoints
import sundial_direct
from fixtures_cli import FIXTURES
from tollama_kit.fixtures import main as fixtures_main
from litestar.testing import TestClient
from tollama_kit import protocol as wire
from tollama_kit.adapter import ForecastInput, Loaded, SeriesInput
from tollama_kit.arrays import pack
from tollama_kit.contract import ContractCase, WorkerContract
from tollama_kit.errors import BadInput, LoadFailed, Unsupported
from tollama_kit.server import create_worker_app
from tollama_sundial.adapter import SundialAdapter, create_adapter

MODEL = sundial_checkpoints.MODEL
QUANTILES = (0.1, 0.5, 0.9)


def _fc(
    adapter: SundialAdapter,
    loaded: Loaded,
    series: list[SeriesInput],
    horizon: int = 12,
    quantiles: tuple[float, ...] = QUANTILES,
    **options: Any,
):
    return adapter.forecast(
        loaded,
        ForecastInput(horizon=horizon, quantiles=quantiles, series=series, options={"num_samples": 16, **options}),
    )


def _uni(sid: str, y: np.ndarray, **kw: Any) -> SeriesInput:
    return SeriesInput(id=sid, target=np.asarray(y, dtype=np.float32)[None, :], **kw)


# -- the kit's contract suite -------------------------------------------------------------
class TestSundialContract(WorkerContract):
    @pytest.fixture(scope="class")
    @classmethod
    def contract_case(cls, tiny_ckpt: Path) -> ContractCase:
        return ContractCase(
            adapter_factory=create_adapter,
            name=MODEL,
            path=str(tiny_ckpt),
            horizon=12,
            context=64,
            options={"num_samples": 16},
            allows_missing=True,
        )


# -- parity with the upstream library, on real data, through the worker app ---------------
@pytest.fixture(scope="module")
def worker(tiny_ckpt: Path) -> Iterator[TestClient[Any]]:
    with TestClient(create_worker_app(create_adapter())) as client:
        load = wire.LoadRequest(key="k", name=MODEL, path=str(tiny_ckpt), device="cpu")
        resp = client.post("/v1/load", content=wire.encode(load), headers={"content-type": wire.CONTENT_TYPE})
        assert resp.status_code == 200, resp.content
        yield client


def _through_worker(client: TestClient[Any], request: dict[str, Any]) -> wire.ForecastResult:
    series = []
    for s in request["series"]:
        target = np.asarray(s["target"], dtype=np.float32)
        series.append(wire.Series(id=s["id"], target=pack(target), length=target.shape[1], n_targets=target.shape[0]))
    batch = wire.ForecastBatch(
        key="k", horizon=request["horizon"], quantiles=request["quantiles"], series=series, options=request["options"]
    )
    resp = client.post("/v1/forecast", content=wire.encode(batch), headers={"content-type": wire.CONTENT_TYPE})
    assert resp.status_code == 200, resp.content
    return wire.decoder(wire.ForecastResult).decode(resp.content)


@pytest.mark.parametrize(
    "options",
    [{"num_samples": 20}, {"num_samples": 32, "seed": 7, "context_length": 96}],
    ids=["defaults", "seed-and-context"],
)
def test_worker_matches_direct_upstream_call(worker, tiny_ckpt, airline, co2, options) -> None:
    request = {
        "horizon": 24,
        "quantiles": [0.05, 0.5, 0.95, 0.25],
        "series": [{"id": "airline", "target": [airline.tolist()]}, {"id": "co2", "target": [co2.tolist()]}],
        "options": options,
    }
    expected = sundial_direct.run(MODEL, sundial_direct.load(MODEL, str(tiny_ckpt)), request)
    got = _through_worker(worker, request)
    assert [s.id for s in got.series] == ["airline", "co2"]
    for mine, theirs in zip(got.series, expected["series"], strict=True):
        mean = np.frombuffer(mine.mean, "<f4").reshape(1, 24)
        q = np.frombuffer(mine.quantiles, "<f4").reshape(4, 1, 24)
        np.testing.assert_allclose(mean, theirs["mean"], rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(q, theirs["quantiles"], rtol=1e-4, atol=1e-4)
    # The forecast sits at the level of the context it was given (revin), so the checks above
    # compared real numbers, and the context option reached the model.
    context = co2[-options.get("context_length", co2.size) :]
    co2_mean = float(np.frombuffer(got.series[1].mean, "<f4").mean())
    assert abs(co2_mean - float(context.mean())) < 2 * float(context.std()) + 1


def test_fixtures_cli_builds_and_calls_upstream(tmp_path, adapter, airline) -> None:
    ckpt = tmp_path / "ckpt"
    assert fixtures_main(FIXTURES, ["build", MODEL, str(ckpt)]) == 0
    assert sorted(p.name for p in ckpt.iterdir()) == ["config.json", "generation_config.json", "model.safetensors"]
    config = json.loads((ckpt / "config.json").read_text())
    assert config["model_type"] == "sundial"
    assert "auto_map" in config
    request = {
        "horizon": 6,
        "quantiles": [0.5],
        "series": [{"id": "a", "target": [airline.tolist()]}],
        "options": {"num_samples": 8},
    }
    (tmp_path / "req.json").write_text(json.dumps(request))
    assert fixtures_main(FIXTURES, ["direct", MODEL, str(ckpt), str(tmp_path / "req.json"), str(tmp_path / "out.json")]) == 0
    out = json.loads((tmp_path / "out.json").read_text())
    loaded = adapter.load(MODEL, str(ckpt), "cpu", {"warmup": False})
    mine = _fc(adapter, loaded, [_uni("a", airline)], horizon=6, quantiles=(0.5,), num_samples=8)
    np.testing.assert_allclose(mine.series[0].mean, out["series"][0]["mean"], rtol=1e-4)


def test_build_is_deterministic(tmp_path) -> None:
    one = sundial_checkpoints.build(MODEL, tmp_path / "one")
    two = sundial_checkpoints.build(MODEL, tmp_path / "two")
    assert (one / "model.safetensors").read_bytes() == (two / "model.safetensors").read_bytes()


# -- sampling: seeds, batching, quantiles -------------------------------------------------
def test_seed_changes_the_samples_and_fixes_them(adapter, loaded, airline) -> None:
    a = _fc(adapter, loaded, [_uni("a", airline)], seed=1).series[0]
    b = _fc(adapter, loaded, [_uni("a", airline)], seed=2).series[0]
    again = _fc(adapter, loaded, [_uni("a", airline)], seed=1).series[0]
    assert np.abs(a.mean - b.mean).max() > 1e-3, "the seed must reach the sampler"
    np.testing.assert_array_equal(a.quantiles, again.quantiles)
    assert (a.quantiles[2] - a.quantiles[0]).min() > 0, "samples must spread (not a degenerate head)"


def test_seeded_forecast_does_not_depend_on_batch_mates(adapter, loaded, airline, co2) -> None:
    alone = _fc(adapter, loaded, [_uni("air", airline)]).series[0]
    together = _fc(adapter, loaded, [_uni("co2", co2), _uni("air", airline), _uni("x", airline * 2)]).series
    assert [s.id for s in together] == ["co2", "air", "x"]
    np.testing.assert_array_equal(alone.mean, together[1].mean)


def test_unseeded_mode_batches_rows_and_keeps_order(adapter, loaded, airline, co2) -> None:
    series = [_uni("co2", co2), _uni("air", airline), _uni("air2", airline + 100), _uni("short", airline[:40])]
    out = _fc(adapter, loaded, series, seed=-1, batch_size=2)
    assert [s.id for s in out.series] == ["co2", "air", "air2", "short"]
    for s, src in zip(out.series, series, strict=True):
        assert s.mean.shape == (1, 12)
        assert s.quantiles.shape == (3, 1, 12)
        assert np.isfinite(s.quantiles).all()
        # each forecast sits at its own series' level: rows were not mixed up inside a batch
        assert abs(float(s.mean.mean()) - float(src.target[0, -96:].mean())) < 0.5 * float(np.ptp(src.target)) + 5


def test_quantiles_come_back_in_the_requested_order(adapter, loaded, airline) -> None:
    out = _fc(adapter, loaded, [_uni("a", airline)], quantiles=(0.9, 0.1, 0.5)).series[0]
    assert (out.quantiles[0] >= out.quantiles[2]).all()
    assert (out.quantiles[2] >= out.quantiles[1]).all()
    assert (out.quantiles[0] > out.quantiles[1]).any()


def test_tail_levels_beyond_the_sample_resolution_warn(adapter, loaded, airline) -> None:
    out = _fc(adapter, loaded, [_uni("a", airline)], quantiles=(0.01, 0.5), num_samples=10)
    assert any("0.01" in w and "num_samples" in w for w in out.warnings)
    assert not _fc(adapter, loaded, [_uni("a", airline)], quantiles=(0.1, 0.5), num_samples=10).warnings


# -- covariates: none are supported -------------------------------------------------------
def _macro_series(macrodata: dict[str, np.ndarray], horizon: int) -> SeriesInput:
    n = macrodata["realgdp"].size - horizon
    return SeriesInput(
        id="gdp",
        target=macrodata["realgdp"][None, :n],
        past_covariates={"realinv": macrodata["realinv"][:n]},
        future_covariates={
            "realcons": macrodata["realcons"],
            "quarter": np.array(["Q1", "Q2", "Q3", "Q4"] * 51, dtype=object)[: n + horizon],
        },
        static_covariates={"country": "US"},
    )


@pytest.mark.parametrize("mode", [None, "best_effort", "strict"])
def test_covariates_that_reach_the_adapter_are_refused_naming_them(adapter, loaded, macrodata, mode) -> None:
    # The gateway alone applies covariates_mode (its models declare no covariates); the adapter ignores it.
    options = {"covariates_mode": mode} if mode else {}
    with pytest.raises(Unsupported, match="realinv") as info:
        _fc(adapter, loaded, [_macro_series(macrodata, 8)], horizon=8, **options)
    for name in ("realcons", "quarter", "country"):
        assert name in info.value.message


def test_covariates_are_unsupported_through_the_worker(worker, macrodata) -> None:
    y = macrodata["realgdp"][:100]
    batch = wire.ForecastBatch(
        key="k",
        horizon=4,
        quantiles=[0.5],
        series=[
            wire.Series(
                id="gdp", target=pack(y), length=100, past_covariates={"realinv": pack(macrodata["realinv"][:100])}
            )
        ],
    )
    resp = worker.post("/v1/forecast", content=wire.encode(batch), headers={"content-type": wire.CONTENT_TYPE})
    assert resp.status_code == 422
    assert msgspec.msgpack.decode(resp.content, type=wire.WorkerError).code == "unsupported"


# -- missing values, context, horizon, multivariate -----------------------------------------
def test_interior_gaps_are_interpolated_with_a_warning(adapter, loaded, airline) -> None:
    gappy = airline.copy()
    gappy[[50, 51, 52, 100]] = np.nan
    filled = airline.copy()
    filled[50:53] = np.linspace(airline[49], airline[53], 5)[1:4]
    filled[100] = (airline[99] + airline[101]) / 2
    out = _fc(adapter, loaded, [_uni("g", gappy)])
    ref = _fc(adapter, loaded, [_uni("g", filled)])
    np.testing.assert_allclose(out.series[0].mean, ref.series[0].mean, rtol=1e-5)
    assert any("4 missing value(s) filled" in w for w in out.warnings)


def test_leading_gaps_are_dropped_and_all_missing_is_bad_input(adapter, loaded, airline) -> None:
    lead = airline.copy()
    lead[:10] = np.nan
    out = _fc(adapter, loaded, [_uni("l", lead)])
    ref = _fc(adapter, loaded, [_uni("l", airline[10:])])
    np.testing.assert_array_equal(out.series[0].mean, ref.series[0].mean)
    with pytest.raises(BadInput, match="no observed values"):
        _fc(adapter, loaded, [_uni("empty", np.full(30, np.nan))])


def test_context_length_keeps_the_last_points(adapter, loaded, co2) -> None:
    cut = _fc(adapter, loaded, [_uni("c", co2)], context_length=200)
    ref = _fc(adapter, loaded, [_uni("c", co2[-200:])])
    full = _fc(adapter, loaded, [_uni("c", co2)])
    np.testing.assert_array_equal(cut.series[0].mean, ref.series[0].mean)
    assert np.abs(cut.series[0].mean - full.series[0].mean).max() > 1e-4


def test_context_beyond_the_model_maximum_is_clamped_with_a_warning(adapter, loaded) -> None:
    y = np.sin(np.arange(3000) / 7).astype(np.float32)
    out = _fc(adapter, loaded, [_uni("long", y)], context_length=5000)
    ref = _fc(adapter, loaded, [_uni("long", y[-2880:])])
    np.testing.assert_array_equal(out.series[0].mean, ref.series[0].mean)
    assert any("maximum context 2880" in w for w in out.warnings)
    # without the option the default context is the model maximum too
    np.testing.assert_array_equal(_fc(adapter, loaded, [_uni("long", y)]).series[0].mean, ref.series[0].mean)


def test_long_horizons_roll_out_and_the_limit_is_bad_input(adapter, loaded, airline) -> None:
    out = _fc(adapter, loaded, [_uni("a", airline)], horizon=730, num_samples=4)
    assert out.series[0].mean.shape == (1, 730)
    assert np.isfinite(out.series[0].quantiles).all()
    assert any("autoregressively" in w for w in out.warnings)
    with pytest.raises(BadInput, match="between 1 and 2880"):
        _fc(adapter, loaded, [_uni("a", airline)], horizon=2881)


def test_multivariate_targets_are_forecast_per_variate(adapter, loaded, macrodata) -> None:
    rows = np.stack([macrodata["realgdp"], macrodata["realcons"]])
    out = _fc(adapter, loaded, [SeriesInput(id="m", target=rows)]).series[0]
    assert out.mean.shape == (2, 12)
    assert out.quantiles.shape == (3, 2, 12)
    for v in range(2):
        alone = _fc(adapter, loaded, [_uni("v", rows[v])]).series[0]
        np.testing.assert_array_equal(out.mean[v], alone.mean[0])


# -- options and loading --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"num_samples": 0}, "num_samples"),
        ({"num_samples": "many"}, "num_samples"),
        ({"seed": 1.5}, "seed"),
        ({"context_length": 0}, "context_length"),
    ],
)
def test_bad_options_are_bad_input(adapter, loaded, airline, options, match) -> None:
    with pytest.raises(BadInput, match=match):
        _fc(adapter, loaded, [_uni("a", airline)], **options)


def test_unknown_options_are_ignored_and_numeric_strings_accepted(adapter, loaded, airline) -> None:
    a = _fc(adapter, loaded, [_uni("a", airline)], num_samples="16", scaling="none")
    b = _fc(adapter, loaded, [_uni("a", airline)], num_samples=16)
    np.testing.assert_array_equal(a.series[0].mean, b.series[0].mean)


def test_load_refuses_what_is_not_a_sundial_snapshot(adapter, tmp_path, tiny_ckpt) -> None:
    with pytest.raises(LoadFailed, match=r"no config\.json"):
        adapter.load(MODEL, str(tmp_path), "cpu", {})
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "t5"}))
    with pytest.raises(LoadFailed, match="'t5'"):
        adapter.load(MODEL, str(tmp_path), "cpu", {})


def test_load_reports_memory_and_versions(adapter, loaded) -> None:
    params = sum(p.numel() for p in loaded.handle.model.parameters())
    assert loaded.memory_bytes >= 4 * params > 0
    assert {"sktime", "transformers", "torch"} <= set(adapter.describe())
    assert adapter.describe()["transformers"].startswith("4.40.")
