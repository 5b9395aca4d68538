"""uni2ts family: the kit's contract, parity with uni2ts' own predictor, covariates, traps.

Run: ``<env>/bin/python -m pytest families/uni2ts/tests -q`` from the repository root.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import direct
import fixtures_cli
import msgspec
import numpy as np
import pytest
from tollama_kit import protocol as wire
from tollama_kit.arrays import pack
from tollama_kit.contract import ContractCase, WorkerContract
from tollama_uni2ts.adapter import create_adapter

pytestmark = [
    # lightning / gluonts / pandas noise from the upstream predictor used by the direct calls
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore:invalid value encountered in divide:RuntimeWarning:gluonts"),
    pytest.mark.filterwarnings("ignore:.*does not have many workers:UserWarning"),
]

M1, M2 = "moirai-1.1-R-small", "moirai-2.0-R-small"
LEVELS = [0.1, 0.5, 0.9]


# -- contract ------------------------------------------------------------------------------
class TestMoirai1Contract(WorkerContract):
    @pytest.fixture(scope="class")
    @classmethod
    def contract_case(cls, checkpoint: Any) -> ContractCase:
        return ContractCase(adapter_factory=create_adapter, name=M1, path=checkpoint(M1), options={"num_samples": 20})


class TestMoirai2Contract(WorkerContract):
    @pytest.fixture(scope="class")
    @classmethod
    def contract_case(cls, checkpoint: Any) -> ContractCase:
        return ContractCase(adapter_factory=create_adapter, name=M2, path=checkpoint(M2))


# -- helpers -------------------------------------------------------------------------------
def _post(client: Any, path: str, msg: msgspec.Struct) -> Any:
    return client.post(path, content=wire.encode(msg), headers={"content-type": wire.CONTENT_TYPE})


def _load(client: Any, model: str, path: str, key: str | None = None) -> str:
    key = key or model
    resp = _post(client, "/v1/load", wire.LoadRequest(key=key, name=model, path=path, device="cpu"))
    assert resp.status_code == 200, resp.content
    return key


def _floats(values: Any) -> list[float | None]:
    return [None if np.isnan(v) else float(v) for v in np.asarray(values, dtype=np.float64)]


def _request(
    series: list[dict[str, Any]], horizon: int, options: dict[str, Any], levels: list[float] = LEVELS
) -> dict[str, Any]:
    """One request in both shapes: the wire batch's fields and the direct call's JSON."""
    return {"horizon": horizon, "quantiles": levels, "series": series, "options": options}


def _series(
    sid: str,
    target: np.ndarray,
    future: dict[str, Any] | None = None,
    past: dict[str, Any] | None = None,
    static: dict[str, Any] | None = None,
) -> dict[str, Any]:
    target = np.atleast_2d(np.asarray(target, dtype=np.float32))
    return {
        "id": sid,
        "target": target,
        "future_covariates": future or {},
        "past_covariates": past or {},
        "static_covariates": static or {},
    }


def _wire_cov(values: Any) -> bytes | list[str]:
    arr = np.asarray(values)
    return [str(v) for v in arr] if arr.dtype.kind in "OUS" else pack(arr.astype(np.float32))


def _via_worker(client: Any, key: str, req: dict[str, Any]) -> tuple[int, Any]:
    batch = wire.ForecastBatch(
        key=key,
        horizon=req["horizon"],
        quantiles=req["quantiles"],
        options=req["options"],
        series=[
            wire.Series(
                id=s["id"],
                target=pack(s["target"]),
                length=s["target"].shape[1],
                n_targets=s["target"].shape[0],
                future_covariates={k: _wire_cov(v) for k, v in s["future_covariates"].items()},
                past_covariates={k: _wire_cov(v) for k, v in s["past_covariates"].items()},
                static_covariates=s["static_covariates"],
            )
            for s in req["series"]
        ],
    )
    resp = _post(client, "/v1/forecast", batch)
    if resp.status_code != 200:
        return resp.status_code, msgspec.msgpack.decode(resp.content, type=wire.WorkerError)
    result = wire.decoder(wire.ForecastResult).decode(resp.content)
    out = []
    for s in result.series:
        mean = np.frombuffer(s.mean, "<f4").reshape(s.n_targets, req["horizon"])
        q = np.frombuffer(s.quantiles, "<f4").reshape(len(req["quantiles"]), s.n_targets, req["horizon"])
        out.append({"id": s.id, "mean": mean, "quantiles": q})
    return 200, {"series": out, "warnings": result.warnings, "batch_size": result.batch_size}


def _direct(model: str, path: str, req: dict[str, Any]) -> list[dict[str, Any]]:
    as_json = {
        **req,
        "series": [
            {
                "id": s["id"],
                "target": [_floats(row) for row in s["target"]],
                "future_covariates": {k: _floats(v) for k, v in s["future_covariates"].items()},
                "past_covariates": {k: _floats(v) for k, v in s["past_covariates"].items()},
            }
            for s in req["series"]
        ],
    }
    return direct.forecast(model, direct.load(model, path), as_json)["series"]


def _assert_parity(ours: dict[str, Any], theirs: list[dict[str, Any]]) -> None:
    assert [s["id"] for s in ours["series"]] == [s["id"] for s in theirs]
    for mine, ref in zip(ours["series"], theirs, strict=True):
        np.testing.assert_allclose(mine["mean"], np.array(ref["mean"]), rtol=1e-4, atol=1e-4)
        # the kit keeps quantiles monotone in the level; a random network may cross them
        np.testing.assert_allclose(mine["quantiles"], np.sort(np.array(ref["quantiles"]), axis=0), rtol=1e-4, atol=1e-4)


# -- parity on real data -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model", "options"),
    [
        (M1, {"context_length": 512, "num_samples": 100, "seed": 7}),
        (M1, {"context_length": 300, "num_samples": 50, "seed": 1, "patch_size": 32}),
        (M2, {"context_length": 512}),
    ],
)
def test_parity_with_upstream_predictor_on_co2(
    worker: Any, checkpoint: Any, co2: np.ndarray, model: str, options: dict[str, Any]
) -> None:
    key = _load(worker, model, checkpoint(model))
    req = _request([_series("co2", co2)], 24, options)
    status, ours = _via_worker(worker, key, req)
    assert status == 200, ours
    _assert_parity(ours, _direct(model, checkpoint(model), req))


@pytest.mark.parametrize("model", [M1, M2])
def test_fused_batch_of_different_lengths_equals_upstream_per_series(
    worker: Any, checkpoint: Any, co2: np.ndarray, model: str
) -> None:
    key = _load(worker, model, checkpoint(model))
    req = _request(
        [_series("long", co2[:900]), _series("short", co2[:150]), _series("mid", co2[200:530])],
        30,
        {"context_length": 400, "num_samples": 30, "seed": 3},
    )
    status, ours = _via_worker(worker, key, req)
    assert status == 200, ours
    _assert_parity(ours, _direct(model, checkpoint(model), req))


def test_missing_values_match_upstream_imputation(worker: Any, checkpoint: Any, co2_raw: np.ndarray) -> None:
    window = co2_raw[1100:1500]  # weeks 1357-1360 and 1427 are missing in the raw data
    assert np.isnan(window).sum() == 5
    for model in (M1, M2):
        key = _load(worker, model, checkpoint(model))
        req = _request([_series("gappy", window)], 12, {"context_length": 400, "num_samples": 20})
        status, ours = _via_worker(worker, key, req)
        assert status == 200, ours
        _assert_parity(ours, _direct(model, checkpoint(model), req))


def test_all_missing_context_is_bad_input(worker: Any, checkpoint: Any, co2: np.ndarray) -> None:
    key = _load(worker, M2, checkpoint(M2))
    y = co2[:200].copy()
    y[-50:] = np.nan
    status, err = _via_worker(worker, key, _request([_series("empty", y)], 12, {"context_length": 50}))
    assert (status, err.code) == (400, "bad_input")


# -- covariates and multivariate -----------------------------------------------------------
def _macro_case(macro: Any, horizon: int) -> dict[str, Any]:
    n = len(macro) - horizon
    gdp = np.log(macro["realgdp"].to_numpy(np.float32))
    return _series(
        "gdp",
        gdp[:n],
        future={"infl": macro["infl"].to_numpy(np.float32)},
        past={"unemp": macro["unemp"].to_numpy(np.float32)[:n]},
    )


@pytest.mark.parametrize("model", [M1, M2])
def test_numeric_covariates_match_upstream_and_matter(worker: Any, checkpoint: Any, macro: Any, model: str) -> None:
    key = _load(worker, model, checkpoint(model))
    options = {"context_length": 160, "num_samples": 50, "seed": 5}
    req = _request([_macro_case(macro, 8)], 8, options)
    status, ours = _via_worker(worker, key, req)
    assert status == 200, ours
    assert ours["warnings"] == []
    _assert_parity(ours, _direct(model, checkpoint(model), req))
    bare = _request([_series("gdp", req["series"][0]["target"])], 8, options)
    _, without = _via_worker(worker, key, bare)
    assert not np.allclose(ours["series"][0]["mean"], without["series"][0]["mean"], rtol=1e-6, atol=1e-7), (
        "covariates were silently ignored"
    )


@pytest.mark.parametrize("model", [M1, M2])
def test_multivariate_targets_match_upstream(worker: Any, checkpoint: Any, macro: Any, model: str) -> None:
    key = _load(worker, model, checkpoint(model))
    both = np.log(np.stack([macro["realgdp"], macro["realcons"]]).astype(np.float32))
    req = _request([_series("gdp+cons", both)], 6, {"context_length": 120, "num_samples": 40, "seed": 2})
    status, ours = _via_worker(worker, key, req)
    assert status == 200, ours
    assert ours["series"][0]["mean"].shape == (2, 6)
    assert ours["series"][0]["quantiles"].shape == (3, 2, 6)
    _assert_parity(ours, _direct(model, checkpoint(model), req))


def test_categorical_and_static_covariates_that_reach_the_worker_are_refused(worker: Any, checkpoint: Any, macro: Any) -> None:
    key = _load(worker, M2, checkpoint(M2))
    base = _macro_case(macro, 8)
    season = np.array([f"q{int(q)}" for q in macro["quarter"]], dtype=object)
    extra = {
        **base,
        "future_covariates": {**base["future_covariates"], "season": season},
        "static_covariates": {"country": "US"},
    }
    categorical_only = {**extra, "static_covariates": {}}
    static_only = {**base, "static_covariates": {"country": "US"}}
    # The gateway alone applies covariates_mode (Moirai's entries declare neither kind); the worker refuses both.
    for mode in ({}, {"covariates_mode": "best_effort"}, {"covariates_mode": "strict"}):
        for case, named in ((categorical_only, "categorical future covariates ['season']"), (static_only, "static covariates ['country']")):
            status, err = _via_worker(worker, key, _request([case], 8, mode))
            assert (status, err.code) == (422, "unsupported"), (mode, err)
            assert named in err.message


# -- options and traps ---------------------------------------------------------------------
def test_context_length_is_the_whole_lookback(worker: Any, checkpoint: Any, co2: np.ndarray) -> None:
    for model in (M1, M2):
        key = _load(worker, model, checkpoint(model))
        opts = {"context_length": 100, "num_samples": 20}
        _, long = _via_worker(worker, key, _request([_series("a", co2[:1000])], 12, opts))
        _, cut = _via_worker(worker, key, _request([_series("a", co2[900:1000])], 12, opts))
        np.testing.assert_allclose(long["series"][0]["mean"], cut["series"][0]["mean"], rtol=1e-5)
        _, wider = _via_worker(worker, key, _request([_series("a", co2[:1000])], 12, {**opts, "context_length": 300}))
        assert not np.allclose(wider["series"][0]["mean"], long["series"][0]["mean"], rtol=1e-6)


def test_seed_controls_moirai1_sampling(worker: Any, checkpoint: Any, co2: np.ndarray) -> None:
    key = _load(worker, M1, checkpoint(M1))
    series = [_series("a", co2[:300])]
    runs = {
        seed: _via_worker(worker, key, _request(series, 12, {"num_samples": 30, "seed": seed}))[1] for seed in (0, 1)
    }
    again = _via_worker(worker, key, _request(series, 12, {"num_samples": 30, "seed": 0}))[1]
    np.testing.assert_array_equal(runs[0]["series"][0]["mean"], again["series"][0]["mean"])
    assert not np.allclose(runs[0]["series"][0]["mean"], runs[1]["series"][0]["mean"])
    status, unseeded = _via_worker(worker, key, _request(series * 2, 12, {"num_samples": 30, "seed": -1}))
    assert status == 200 and len(unseeded["series"]) == 2


def test_moirai2_off_grid_levels_are_interpolated_with_a_warning(worker: Any, checkpoint: Any, co2: np.ndarray) -> None:
    key = _load(worker, M2, checkpoint(M2))
    status, out = _via_worker(worker, key, _request([_series("a", co2[:300])], 12, {}, [0.05, 0.25, 0.5]))
    assert status == 200, out
    assert any("interpolated" in w and "clamped" in w for w in out["warnings"])
    q = out["series"][0]["quantiles"]
    assert (np.diff(q, axis=0) >= 0).all()


@pytest.mark.parametrize(
    ("model", "options", "horizon"),
    [
        (M1, {"patch_size": 12}, 12),
        (M1, {"num_samples": 0}, 12),
        (M1, {"context_length": "lots"}, 12),
        (M2, {}, 5000),
    ],
)
def test_bad_options_and_horizons_are_bad_input(
    worker: Any, checkpoint: Any, co2: np.ndarray, model: str, options: dict[str, Any], horizon: int
) -> None:
    key = _load(worker, model, checkpoint(model))
    status, err = _via_worker(worker, key, _request([_series("a", co2[:200])], horizon, options))
    assert (status, err.code) == (400, "bad_input"), err


def test_one_loaded_model_serves_changing_shapes(checkpoint: Any, co2: np.ndarray, macro: Any) -> None:
    """The wrapper is re-shaped per request: a 24-step univariate forecast after a multivariate,
    covariate, 8-step one must equal a fresh upstream call."""
    from tollama_kit.adapter import ForecastInput, SeriesInput

    adapter = create_adapter()
    loaded = adapter.load(M2, checkpoint(M2), "cpu", {})
    gdp = np.log(np.stack([macro["realgdp"], macro["realcons"]]).astype(np.float32))
    adapter.forecast(
        loaded,
        ForecastInput(
            horizon=8,
            quantiles=(0.5,),
            series=[
                SeriesInput(
                    id="mv", target=gdp[:, :195], future_covariates={"infl": macro["infl"].to_numpy(np.float32)}
                )
            ],
        ),
    )
    out = adapter.forecast(
        loaded,
        ForecastInput(
            horizon=24,
            quantiles=tuple(LEVELS),
            series=[SeriesInput(id="co2", target=co2[None, :400])],
            options={"context_length": 400},
        ),
    )
    ref = _direct(M2, checkpoint(M2), _request([_series("co2", co2[:400])], 24, {"context_length": 400}))
    np.testing.assert_allclose(out.series[0].mean, np.array(ref[0]["mean"]), rtol=1e-4, atol=1e-4)


def test_name_outside_the_catalogue_is_recognised_from_config(worker: Any, checkpoint: Any) -> None:
    for model in (M1, M2):
        _load(worker, "my-forecaster", checkpoint(model), key=f"custom-{model}")
    info = msgspec.msgpack.decode(worker.get("/v1/info").content, type=wire.Info)
    assert {"custom-" + M1, "custom-" + M2} <= {m.key for m in info.loaded}
    assert info.versions["uni2ts"] == "2.0.0"


def test_incomplete_checkpoint_fails_to_load(worker: Any, checkpoint: Any, tmp_path: Path) -> None:
    """uni2ts' hub mixin loads non-strictly by default (missing weights stay random); the adapter must not."""
    from safetensors.torch import load_file, save_file

    src = Path(checkpoint(M2))
    (tmp_path / "config.json").write_text((src / "config.json").read_text())
    weights = load_file(src / "model.safetensors")
    weights.pop(sorted(weights)[0])
    save_file(weights, tmp_path / "model.safetensors")
    resp = _post(worker, "/v1/load", wire.LoadRequest(key="broken", name=M2, path=str(tmp_path), device="cpu"))
    assert resp.status_code == 500
    assert msgspec.msgpack.decode(resp.content, type=wire.WorkerError).code == "load_failed"


# -- the gateway-level fixtures CLI ----------------------------------------------------------
def test_fixtures_cli_build_and_direct(tmp_path: Path, co2: np.ndarray) -> None:
    import json

    fixtures_cli.main(fixtures_cli.FIXTURES, ["build", M2, str(tmp_path / "ckpt")])
    assert {"config.json", "model.safetensors"} <= {p.name for p in (tmp_path / "ckpt").iterdir()}
    request = {
        "horizon": 6,
        "quantiles": [0.1, 0.9],
        "options": {"context_length": 64},
        "series": [{"id": "x", "target": [_floats(co2[:100])]}],
    }
    (tmp_path / "req.json").write_text(json.dumps(request))
    fixtures_cli.main(fixtures_cli.FIXTURES, ["direct", M2, str(tmp_path / "ckpt"), str(tmp_path / "req.json"), str(tmp_path / "out.json")])
    out = json.loads((tmp_path / "out.json").read_text())
    assert np.array(out["series"][0]["mean"]).shape == (1, 6)
    assert np.array(out["series"][0]["quantiles"]).shape == (2, 1, 6)
