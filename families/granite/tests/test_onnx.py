"""TinyTimeMixer's ONNX Runtime path (``options.backend``) against the torch path on real data (co2,
Airline), the graph cache (hit, corrupt file), the options' errors, and the int8 opt-in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tollama_granite import onnx_ttm
from tollama_kit.adapter import ForecastInput, SeriesInput
from tollama_kit.errors import BadInput, Unsupported
from tollama_kit.onnx_cache import GraphCache

pytestmark = [
    pytest.mark.family("granite"),
    pytest.mark.filterwarnings("ignore::FutureWarning:transformers.*"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

LEVELS = (0.1, 0.5, 0.9)


def _windows(y: np.ndarray, n: int) -> list[SeriesInput]:
    rng = np.random.default_rng(0)
    return [SeriesInput(id=f"w{i}", target=y[: int(rng.integers(300, len(y) + 1))][None, :]) for i in range(n)]


def _run(
    adapter: Any, loaded: Any, series: list[SeriesInput], horizon: int, **options: Any
) -> tuple[np.ndarray, np.ndarray]:
    out = adapter.forecast(loaded, ForecastInput(horizon=horizon, quantiles=LEVELS, series=series, options=options))
    return np.stack([s.mean for s in out.series]), np.stack([s.quantiles for s in out.series])


@pytest.mark.parametrize(("n", "context"), [(1, 512), (64, 512), (64, 200)])
def test_onnx_matches_torch_on_co2(adapter, loaded, co2, n: int, context: int) -> None:
    series = _windows(co2, n)
    torch_mean, torch_q = _run(adapter, loaded, series, 24, backend="torch", context_length=context)
    onnx_mean, onnx_q = _run(adapter, loaded, series, 24, backend="onnx", context_length=context)
    assert onnx_mean.shape == (n, 1, 24)
    np.testing.assert_allclose(onnx_mean, torch_mean, rtol=1e-4, atol=0)
    np.testing.assert_allclose(onnx_q, torch_q, rtol=1e-4, atol=0)


def test_onnx_matches_torch_on_airline_short_history(adapter, loaded, airline) -> None:
    series = [SeriesInput(id="air", target=airline[None, :])]  # 144 points: left-padded to 512
    np.testing.assert_allclose(
        _run(adapter, loaded, series, 12, backend="onnx")[0],
        _run(adapter, loaded, series, 12, backend="torch")[0],
        rtol=1e-4,
        atol=0,
    )


def test_auto_serves_a_ready_graph_and_never_exports(adapter, ckpt_512_96, co2, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TOLLAMA_ONNX_CACHE", str(tmp_path))  # an empty graph cache for these loads
    calls = _counting_export(monkeypatch)
    loaded = adapter.load("granite-ttm-r2", ckpt_512_96, "cpu", {})
    assert loaded.handle.onnx.ttm is not None
    series = _windows(co2, 3)
    torch_ = _run(adapter, loaded, series, 12, backend="torch")[0]
    np.testing.assert_array_equal(_run(adapter, loaded, series, 12)[0], torch_)  # no graph yet: torch
    assert calls == [], "auto must not export"
    onnx = _run(adapter, loaded, series, 12, backend="onnx")[0]  # an explicit ask exports once
    assert len(calls) == 1
    assert not np.array_equal(onnx, torch_)  # the two paths are distinguishable (float differences)
    np.testing.assert_array_equal(_run(adapter, loaded, series, 12)[0], onnx)  # the graph is ready: auto serves it
    # A later load of the same checkpoint finds the graph in the cache: auto serves it, no export.
    again = adapter.load("granite-ttm-r2", ckpt_512_96, "cpu", {})
    np.testing.assert_array_equal(_run(adapter, again, series, 12)[0], onnx)
    assert len(calls) == 1


def _counting_export(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    calls: list[Path] = []
    real = onnx_ttm.export

    def export(model: Any, out: Path, **kw: Any) -> None:
        calls.append(out)
        real(model, out, **kw)

    monkeypatch.setattr(onnx_ttm, "export", export)
    return calls


def test_cache_hit_reuses_and_corrupt_file_is_rebuilt(loaded, ckpt_512_96, tmp_path, monkeypatch) -> None:
    model = loaded.handle.model
    calls = _counting_export(monkeypatch)

    def network() -> onnx_ttm.TtmOnnx:
        return onnx_ttm.TtmOnnx(model, ckpt_512_96, threads=1, prefix_tuning=False, cache=GraphCache(tmp_path))

    first = network().graphs.session()
    stamp = first.path.stat().st_mtime_ns
    again = network().graphs.session()
    assert len(calls) == 1, "a cache hit must not export again"
    assert again.path == first.path and again.path.stat().st_mtime_ns == stamp
    first.path.write_bytes(b"not an onnx graph")
    rebuilt = network()
    out = rebuilt.run(rebuilt.graphs.session(), np.ones((2, 512), np.float32), np.ones((2, 512), bool), None, 8)
    assert len(calls) == 2
    assert out.shape == (2, 96) and np.isfinite(out).all()
    assert sorted(p.name for p in tmp_path.iterdir()) == [first.path.name]


@pytest.mark.parametrize(
    ("options", "error", "text"),
    [
        ({"backend": "openvino"}, BadInput, "'backend' must be one of"),
        ({"precision": "bf16"}, BadInput, "'precision' must be one of"),
        ({"backend": "torch", "precision": "int8"}, BadInput, "int8"),
    ],
)
def test_backend_option_errors(adapter, loaded, co2, options: dict, error: type, text: str) -> None:
    with pytest.raises(error, match=text):
        _run(adapter, loaded, _windows(co2, 1), 12, **options)


def test_onnx_on_a_model_without_an_onnx_path_is_unsupported(adapter, tmp_path, co2) -> None:
    from checkpoints import FLOWSTATE, build

    other = adapter.load(FLOWSTATE, str(build(FLOWSTATE, tmp_path / "fs")), "cpu", {})
    with pytest.raises(Unsupported, match="TinyTimeMixer only"):
        _run(adapter, other, _windows(co2, 1), 12, backend="onnx")


def test_int8_runs(adapter, loaded, co2) -> None:
    series = _windows(co2, 4)
    fp32 = _run(adapter, loaded, series, 24, backend="onnx")[0]
    int8 = _run(adapter, loaded, series, 24, precision="int8")[0]
    assert np.isfinite(int8).all()
    assert not np.array_equal(int8, fp32), "int8 must really run the quantised graph"
    # No closeness bound here: dynamic int8 moves the tiny random TTM (d_model 16) a lot; the accuracy
    # cost at real size (MASE before/after) is measured by bench/onnx.py (docs/benchmarks.md).
