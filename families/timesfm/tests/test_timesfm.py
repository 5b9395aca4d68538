"""TimesFM 2.5 family: the kit's contract, parity with the upstream library on real data,
covariates, and the family's traps. Run with the family env:

    <env>/bin/python -m pytest families/timesfm/tests -q            (-m slow for the 925 MB check)
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import numpy as np
import pytest
from litestar.testing import TestClient
from tollama_kit import protocol as wire
from tollama_kit.adapter import ForecastInput, SeriesInput
from tollama_kit.arrays import pack
from tollama_kit.contract import ContractCase, WorkerContract
from tollama_kit.errors import BadInput
from tollama_kit.server import create_worker_app
from tollama_timesfm.adapter import TimesFMAdapter, create_adapter

from . import checkpoints, direct, fixtures_cli
from . import tiny_architecture as testing_patch
from .conftest import MODEL

pytestmark = pytest.mark.family("timesfm")

QUANTILES = [0.1, 0.25, 0.5, 0.9]
RTOL, ATOL = 1e-4, 1e-3  # values are O(10^2..10^3): float32 noise only


# -- the kit's contract ------------------------------------------------------------------
class TestTimesFMContract(WorkerContract):
    @pytest.fixture(scope="class")
    @classmethod
    def contract_case(cls, tiny_ckpt: Path) -> ContractCase:
        return ContractCase(adapter_factory=TimesFMAdapter, name=MODEL, path=str(tiny_ckpt), allows_missing=True)


# -- helpers -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client(tiny_ckpt: Path) -> Iterator[TestClient[Any]]:
    with TestClient(create_worker_app(TimesFMAdapter())) as c:
        resp = _post(c, "/v1/load", wire.LoadRequest(key="tiny", name=MODEL, path=str(tiny_ckpt), device="cpu"))
        assert resp.status_code == 200, resp.content
        yield c


@pytest.fixture(scope="module")
def upstream(tiny_ckpt: Path) -> Any:
    return direct.load(MODEL, tiny_ckpt)


def _post(c: TestClient[Any], path: str, msg: msgspec.Struct) -> Any:
    return c.post(path, content=wire.encode(msg), headers={"content-type": wire.CONTENT_TYPE})


def _wire_series(sid: str, target: np.ndarray, **cov: Any) -> wire.Series:
    target = np.atleast_2d(np.asarray(target, dtype=np.float32))
    packed = {
        kind: {k: (list(v) if np.asarray(v).dtype == object else pack(np.asarray(v, np.float32))) for k, v in d.items()}
        for kind, d in cov.items()
        if kind != "static_covariates"
    }
    return wire.Series(
        id=sid,
        target=pack(target),
        length=target.shape[1],
        n_targets=target.shape[0],
        static_covariates=cov.get("static_covariates", {}),
        **packed,
    )


def _forecast(
    c: TestClient[Any],
    series: list[wire.Series],
    horizon: int,
    quantiles: list[float] = QUANTILES,
    expect: int = 200,
    **options: Any,
) -> Any:
    batch = wire.ForecastBatch(key="tiny", horizon=horizon, quantiles=quantiles, series=series, options=options)
    resp = _post(c, "/v1/forecast", batch)
    assert resp.status_code == expect, resp.content
    if expect != 200:
        return msgspec.msgpack.decode(resp.content, type=wire.WorkerError)
    return wire.decoder(wire.ForecastResult).decode(resp.content)


def _arrays(
    result: wire.ForecastResult, i: int, horizon: int, n_levels: int = len(QUANTILES)
) -> tuple[np.ndarray, np.ndarray]:
    s = result.series[i]
    mean = np.frombuffer(s.mean, "<f4").reshape(s.n_targets, horizon)
    return mean, np.frombuffer(s.quantiles, "<f4").reshape(n_levels, s.n_targets, horizon)


def _request(series: list[dict[str, Any]], horizon: int, **options: Any) -> dict[str, Any]:
    return {"horizon": horizon, "quantiles": QUANTILES, "series": series, "options": options}


# -- parity on real data -----------------------------------------------------------------
def test_parity_with_upstream_on_co2(client: TestClient[Any], tiny_ckpt: Path, upstream: Any, co2: np.ndarray) -> None:
    horizon = 24
    targets = {"co2": co2, "co2-older": co2[:-300]}
    result = _forecast(client, [_wire_series(k, v) for k, v in targets.items()], horizon, context_length=512)
    ref = direct.run(
        MODEL,
        upstream,
        _request([{"id": k, "target": [v.tolist()]} for k, v in targets.items()], horizon, context_length=512),
    )
    for i, s in enumerate(ref["series"]):
        mean, q = _arrays(result, i, horizon)
        np.testing.assert_allclose(mean, s["mean"], rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(q, s["quantiles"], rtol=RTOL, atol=ATOL)
    assert not np.allclose(_arrays(result, 0, horizon)[0], _arrays(result, 1, horizon)[0]), "series were mixed up"
    assert any("[0.25]" in w and "interpolated" in w for w in result.warnings)


def test_mean_is_the_mean_head_and_median_is_the_point_forecast(
    upstream: Any, client: TestClient[Any], co2: np.ndarray
) -> None:
    """Upstream's ``point_forecast`` is index 5 (the median), not the mean (index 0)."""
    import timesfm

    upstream.compile(timesfm.ForecastConfig(max_context=256, max_horizon=12, **direct.DEFAULT_FLAGS))
    point, full = upstream.forecast(horizon=12, inputs=[co2[-256:].astype(np.float64)])
    result = _forecast(client, [_wire_series("co2", co2)], 12, quantiles=[0.5], context_length=256)
    mean, q = _arrays(result, 0, 12, n_levels=1)
    np.testing.assert_allclose(q[0, 0], point[0], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(mean[0], full[0, :, 0], rtol=RTOL, atol=ATOL)
    assert not np.allclose(full[0, :, 0], point[0]), "random model: mean and median heads should differ"
    assert result.warnings == []


# -- covariates --------------------------------------------------------------------------
def test_future_covariates_parity_on_macrodata(
    client: TestClient[Any], tiny_ckpt: Path, upstream: Any, macro: dict[str, np.ndarray]
) -> None:
    horizon = 8
    y = macro["realinv"][:-horizon]
    future = {"realgdp": macro["realgdp"], "quarter": macro["quarter"]}
    result = _forecast(client, [_wire_series("inv", y, future_covariates=future)], horizon)
    ref = direct.run(
        MODEL,
        upstream,
        _request(
            [
                {
                    "id": "inv",
                    "target": [y.tolist()],
                    "future_covariates": {k: list(v) if v.dtype == object else v.tolist() for k, v in future.items()},
                }
            ],
            horizon,
        ),
    )
    mean, q = _arrays(result, 0, horizon)
    np.testing.assert_allclose(mean, ref["series"][0]["mean"], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(q, ref["series"][0]["quantiles"], rtol=RTOL, atol=ATOL)
    plain, _ = _arrays(_forecast(client, [_wire_series("inv", y)], horizon), 0, horizon)
    assert not np.allclose(mean, plain, rtol=1e-3), "the covariates were not used"
    assert [w for w in result.warnings if "interpolated" not in w] == []


@pytest.mark.parametrize("mode", [None, "best_effort", "strict"])
@pytest.mark.parametrize("kind", ["past_covariates", "static_covariates"])
def test_unusable_covariates_that_reach_the_worker_are_refused(
    client: TestClient[Any], macro: dict[str, np.ndarray], kind: str, mode: str | None
) -> None:
    # The gateway alone applies covariates_mode (TimesFM's entry declares no past or static covariates).
    horizon = 8
    y = macro["realinv"][:-horizon]
    cov = {"unemp": macro["unemp"][:-horizon]} if kind == "past_covariates" else {"region": "us"}
    options = {"covariates_mode": mode} if mode else {}
    err = _forecast(client, [_wire_series("inv", y, **{kind: cov})], horizon, expect=422, **options)
    assert err.code == "unsupported"
    assert ("unemp" if kind == "past_covariates" else "region") in err.message


# -- family traps ------------------------------------------------------------------------
def test_context_length_uses_only_the_last_points(client: TestClient[Any], co2: np.ndarray) -> None:
    short = _arrays(_forecast(client, [_wire_series("a", co2)], 12, context_length=64), 0, 12)[0]
    cut = _arrays(_forecast(client, [_wire_series("a", co2[-64:])], 12), 0, 12)[0]
    long = _arrays(_forecast(client, [_wire_series("a", co2)], 12, context_length=512), 0, 12)[0]
    np.testing.assert_allclose(short, cut, rtol=RTOL, atol=ATOL)
    assert not np.allclose(short, long, rtol=1e-3)


def test_batches_padded_by_the_library_equal_series_alone(client: TestClient[Any], co2: np.ndarray) -> None:
    """forecast() pads its input list to a multiple of the batch size (in place): 3 series in
    passes of 2 must come back as 3 forecasts equal to each one served alone."""
    targets = [co2[-400:], co2[-300:] * 1.5, co2[-200:] - 100]
    together = _forecast(client, [_wire_series(str(i), t) for i, t in enumerate(targets)], 12, batch_size=2)
    assert len(together.series) == 3
    for i, t in enumerate(targets):
        alone = _forecast(client, [_wire_series(str(i), t)], 12)
        np.testing.assert_allclose(_arrays(together, i, 12)[0], _arrays(alone, 0, 12)[0], rtol=RTOL, atol=ATOL)


def test_multivariate_targets_are_forecast_per_variate(client: TestClient[Any], co2: np.ndarray) -> None:
    rows = np.stack([co2[-300:], co2[-300:] * 0.5 + 7])
    both = _forecast(client, [_wire_series("mv", rows)], 12)
    mean, q = _arrays(both, 0, 12)
    assert mean.shape == (2, 12) and q.shape == (len(QUANTILES), 2, 12)
    for r in range(2):
        alone = _forecast(client, [_wire_series("uv", rows[r])], 12)
        np.testing.assert_allclose(mean[r], _arrays(alone, 0, 12)[0][0], rtol=RTOL, atol=ATOL)


def test_missing_values(client: TestClient[Any], co2: np.ndarray) -> None:
    y = co2[-200:].copy()
    lead = y.copy()
    lead[:20] = np.nan  # leading gaps are stripped by the library
    np.testing.assert_allclose(
        _arrays(_forecast(client, [_wire_series("lead", lead)], 12), 0, 12)[0],
        _arrays(_forecast(client, [_wire_series("cut", y[20:])], 12), 0, 12)[0],
        rtol=RTOL,
        atol=ATOL,
    )
    err = _forecast(client, [_wire_series("void", np.full(50, np.nan))], 12, expect=400)
    assert err.code == "bad_input" and "no observed value" in err.message


def test_horizon_limits(client: TestClient[Any], co2: np.ndarray) -> None:
    long = _forecast(client, [_wire_series("a", co2[-256:])], 200)  # > one 128-step output patch
    mean, q = _arrays(long, 0, 200)
    assert np.isfinite(mean).all() and np.isfinite(q).all()
    err = _forecast(client, [_wire_series("a", co2[-256:])], 1025, expect=400)
    assert err.code == "bad_input" and "1024" in err.message


def test_bad_option_is_bad_input() -> None:
    from tollama_timesfm.options import Settings

    with pytest.raises(BadInput, match="context_length"):
        Settings.from_options({"context_length": "lots"})
    with pytest.raises(BadInput, match="xreg_mode"):
        Settings.from_options({"xreg_mode": "both"})
    assert Settings.from_options({"unknown": 1, "normalize_inputs": "false"}).normalize_inputs is False


def test_unpatched_public_loader_refuses_the_tiny_checkpoint(tiny_ckpt: Path) -> None:
    """The adapter itself patches nothing: without the test patch the strict loader refuses."""
    with testing_patch.patched(tiny=False), TestClient(create_worker_app(TimesFMAdapter())) as c:
        resp = _post(c, "/v1/load", wire.LoadRequest(key="x", name=MODEL, path=str(tiny_ckpt), device="cpu"))
    assert resp.status_code == 500
    err = msgspec.msgpack.decode(resp.content, type=wire.WorkerError)
    assert err.code == "load_failed" and "size mismatch" in err.message


def test_the_product_holds_no_tiny_architecture_hook() -> None:
    """The shrunk architecture is test code: only a worker started with tests/tiny_worker on its path has it."""
    import importlib.util

    assert importlib.util.find_spec("tollama_timesfm.testing_patch") is None
    with testing_patch.patched(tiny=False):
        create_adapter()
        assert not testing_patch.is_applied()


def test_worker_process_serves_the_tiny_checkpoint(tiny_ckpt: Path, tmp_path: Path, co2: np.ndarray) -> None:
    """What gateway-level tests do: a real worker process with tests/tiny_worker on its PYTHONPATH."""
    sock = str(tmp_path / "w.sock")
    path = os.pathsep.join(p for p in (testing_patch.WORKER_PATH, os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": path}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tollama_kit", "--family", "timesfm", "--uds", sock],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
    )
    try:
        _wait_for_line(proc, "tollama-worker listening", timeout=180)
        with httpx.Client(transport=httpx.HTTPTransport(uds=sock), base_url="http://worker", timeout=60) as c:
            headers = {"content-type": wire.CONTENT_TYPE}
            load = c.post(
                "/v1/load",
                content=wire.encode(wire.LoadRequest(key="k", name=MODEL, path=str(tiny_ckpt))),
                headers=headers,
            )
            assert load.status_code == 200, load.content
            batch = wire.ForecastBatch(key="k", horizon=12, quantiles=[0.5], series=[_wire_series("co2", co2[-128:])])
            resp = c.post("/v1/forecast", content=wire.encode(batch), headers=headers)
            assert resp.status_code == 200, resp.content
            out = wire.decoder(wire.ForecastResult).decode(resp.content)
            assert np.isfinite(np.frombuffer(out.series[0].mean, "<f4")).all()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout:
            proc.stdout.close()


def _wait_for_line(proc: subprocess.Popen[str], prefix: str, timeout: float) -> None:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not sel.select(timeout=deadline - time.monotonic()):
                break
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line)
            if line.startswith(prefix):
                return
    raise AssertionError(f"worker did not start: {''.join(seen)[-2000:]}")


# -- fixtures CLI ------------------------------------------------------------------------
def test_fixtures_cli_build_is_deterministic_and_direct_writes_shapes(tmp_path: Path, tiny_ckpt: Path) -> None:
    assert fixtures_cli.main(fixtures_cli.FIXTURES, ["build", MODEL, str(tmp_path / "again")]) == 0
    files = sorted(p.name for p in (tmp_path / "again").iterdir())
    assert files == ["README.md", "config.json", "model.safetensors"]
    assert (tmp_path / "again" / "model.safetensors").read_bytes() == (tiny_ckpt / "model.safetensors").read_bytes()
    assert checkpoints.is_tiny(tiny_ckpt)
    req = tmp_path / "req.json"
    req.write_text(json.dumps(_request([{"id": "s", "target": [list(np.linspace(1, 9, 100))]}], 6)))
    assert fixtures_cli.main(fixtures_cli.FIXTURES, ["direct", MODEL, str(tiny_ckpt), str(req), str(tmp_path / "out.json")]) == 0
    out = json.loads((tmp_path / "out.json").read_text())["series"][0]
    assert np.asarray(out["mean"]).shape == (1, 6)
    assert np.asarray(out["quantiles"]).shape == (len(QUANTILES), 1, 6)


# -- real size (slow) --------------------------------------------------------------------
#: model.safetensors of google/timesfm-2.5-200m-pytorch (main), in bytes.
HUB_WEIGHTS_BYTES = 925_181_104


@pytest.mark.slow
def test_real_size_random_checkpoint_loads_unpatched(tmp_path_factory: pytest.TempPathFactory, co2: np.ndarray) -> None:
    where = tmp_path_factory.mktemp("timesfm-real")
    try:
        checkpoints.build(MODEL, where, size="real")
        assert (where / "model.safetensors").stat().st_size == HUB_WEIGHTS_BYTES
        with testing_patch.patched(tiny=False):
            adapter = TimesFMAdapter()
            loaded = adapter.load(MODEL, str(where), "cpu", {})
        assert 900e6 < loaded.memory_bytes < 950e6
        out = adapter.forecast(
            loaded,
            ForecastInput(
                horizon=24, quantiles=(0.1, 0.5, 0.9), series=[SeriesInput(id="co2", target=co2[None, -512:])]
            ),
        )
        assert out.series[0].mean.shape == (1, 24) and np.isfinite(out.series[0].quantiles).all()
        adapter.unload(loaded)
    finally:
        shutil.rmtree(where, ignore_errors=True)
