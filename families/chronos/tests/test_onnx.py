"""Chronos-Bolt's ONNX Runtime path (``options.backend``) against the torch path on real data (co2),
the graph cache (hit, corrupt file), the options' errors, and the int8 opt-in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import MODELS
from tollama_chronos import onnx_bolt
from tollama_chronos.adapter import create_adapter
from tollama_kit.adapter import ForecastInput, SeriesInput
from tollama_kit.onnx_cache import GraphCache
from test_chronos import _post, _wire_series

QUANTILES = (0.1, 0.5, 0.9)


@pytest.fixture(scope="module")
def bolt(ckpts: dict[str, str]) -> tuple[Any, Any]:
    adapter = create_adapter()
    return adapter, adapter.load(MODELS["bolt"], ckpts["bolt"], "cpu", {})


def _windows(co2: np.ndarray, n: int) -> list[SeriesInput]:
    """``n`` real windows of co2 with different ends and lengths (so rows are NaN-padded in the batch)."""
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        end = int(rng.integers(300, len(co2) + 1))
        length = int(rng.integers(40, 700))
        out.append(SeriesInput(id=f"w{i}", target=co2[max(0, end - length) : end][None, :]))
    return out


def _forecast(adapter: Any, loaded: Any, series: list[SeriesInput], horizon: int, **options: Any) -> Any:
    return adapter.forecast(loaded, ForecastInput(horizon=horizon, quantiles=QUANTILES, series=series, options=options))


def _stack(result: Any) -> tuple[np.ndarray, np.ndarray]:
    return np.stack([s.mean for s in result.series]), np.stack([s.quantiles for s in result.series])


@pytest.mark.parametrize(("n", "horizon"), [(1, 24), (64, 24), (1, 80), (64, 80)])
def test_onnx_matches_torch_on_co2(bolt: tuple[Any, Any], co2: np.ndarray, n: int, horizon: int) -> None:
    adapter, loaded = bolt
    series = _windows(co2, n)
    torch_mean, torch_q = _stack(_forecast(adapter, loaded, series, horizon, backend="torch"))
    onnx_out = _forecast(adapter, loaded, series, horizon, backend="onnx")
    onnx_mean, onnx_q = _stack(onnx_out)
    assert onnx_mean.shape == (n, 1, horizon)
    np.testing.assert_allclose(onnx_mean, torch_mean, rtol=1e-4, atol=0)
    np.testing.assert_allclose(onnx_q, torch_q, rtol=1e-4, atol=0)
    # horizon 80 > the trained 64: the rollout's warning is given on this path too
    assert any("prediction length" in w for w in onnx_out.warnings) == (horizon > 64)


def test_auto_serves_a_ready_graph_and_never_exports(
    ckpts: dict[str, str], co2: np.ndarray, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOLLAMA_ONNX_CACHE", str(tmp_path))  # an empty graph cache for these loads
    calls = _counting_export(monkeypatch)
    adapter = create_adapter()
    loaded = adapter.load(MODELS["bolt"], ckpts["bolt"], "cpu", {})
    assert loaded.handle.onnx.bolt is not None  # available on CPU
    series = _windows(co2, 3)

    def mean(loaded: Any, **options: Any) -> np.ndarray:
        return _stack(_forecast(adapter, loaded, series, 12, **options))[0]

    torch_ = mean(loaded, backend="torch")
    np.testing.assert_array_equal(mean(loaded), torch_)  # no graph yet: torch
    assert calls == [], "auto must not export"
    onnx = mean(loaded, backend="onnx")  # an explicit ask exports once
    assert len(calls) == 1
    assert not np.array_equal(onnx, torch_)  # the two paths are distinguishable (float differences)
    np.testing.assert_array_equal(mean(loaded), onnx)  # the graph is ready: auto serves it
    # A later load of the same checkpoint finds the graph in the cache: auto serves it, no export.
    again = adapter.load(MODELS["bolt"], ckpts["bolt"], "cpu", {})
    np.testing.assert_array_equal(mean(again), onnx)
    assert len(calls) == 1
    np.testing.assert_array_equal(mean(again, backend="torch"), torch_)


def _counting_export(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    calls: list[Path] = []
    real = onnx_bolt.export

    def export(model: Any, out: Path) -> None:
        calls.append(out)
        real(model, out)

    monkeypatch.setattr(onnx_bolt, "export", export)
    return calls


def test_cache_hit_reuses_the_file(
    bolt: tuple[Any, Any], ckpts: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, loaded = bolt
    model = loaded.handle.pipeline.model
    calls = _counting_export(monkeypatch)
    first = onnx_bolt.BoltOnnx(model, ckpts["bolt"], threads=1, cache=GraphCache(tmp_path)).session()
    assert len(calls) == 1
    stamp = first.path.stat().st_mtime_ns
    again = onnx_bolt.BoltOnnx(model, ckpts["bolt"], threads=1, cache=GraphCache(tmp_path)).session()
    assert len(calls) == 1, "a cache hit must not export again"
    assert again.path == first.path
    assert again.path.stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == [first.path.name]  # no temporary file left behind


def test_a_corrupt_cache_file_is_rebuilt(
    bolt: tuple[Any, Any], ckpts: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, loaded = bolt
    model = loaded.handle.pipeline.model
    calls = _counting_export(monkeypatch)
    good = onnx_bolt.BoltOnnx(model, ckpts["bolt"], threads=1, cache=GraphCache(tmp_path)).session()
    size = good.path.stat().st_size
    good.path.write_bytes(good.path.read_bytes()[: size // 3])  # a truncated file
    rebuilt = onnx_bolt.BoltOnnx(model, ckpts["bolt"], threads=1, cache=GraphCache(tmp_path))
    context = np.linspace(300, 320, 128, dtype=np.float32)
    out = rebuilt.predict(rebuilt.session(), [context], 8)
    assert len(calls) == 2
    assert good.path.stat().st_size == size
    assert out.shape == (1, 9, 8) and np.isfinite(out).all()


def test_the_key_follows_the_checkpoint(ckpts: dict[str, str], bolt: tuple[Any, Any], tmp_path: Path) -> None:
    import checkpoints

    other = checkpoints.build(MODELS["bolt"], tmp_path / "other", seed=1)
    model = bolt[1].handle.pipeline.model
    a = onnx_bolt.BoltOnnx(model, ckpts["bolt"], threads=1, cache=GraphCache(tmp_path))
    b = onnx_bolt.BoltOnnx(model, str(other), threads=1, cache=GraphCache(tmp_path))
    assert a.graphs.cache.path_for(a.graphs.key) != b.graphs.cache.path_for(b.graphs.key)


@pytest.mark.parametrize(
    ("kind", "options", "status", "code", "text"),
    [
        ("bolt", {"backend": "tensorrt"}, 400, "bad_input", "'backend' must be one of"),
        ("bolt", {"precision": "fp8"}, 400, "bad_input", "'precision' must be one of"),
        ("bolt", {"backend": "torch", "precision": "int8"}, 400, "bad_input", "int8"),
        ("chronos2", {"backend": "onnx"}, 422, "unsupported", "Chronos-Bolt only"),
        ("t5", {"precision": "int8"}, 422, "unsupported", "Chronos-Bolt only"),
    ],
)
def test_backend_option_errors(
    workers: dict, co2: np.ndarray, kind: str, options: dict, status: int, code: str, text: str
) -> None:
    got, err = _post(workers[kind], kind, 4, [_wire_series("s", co2[-64:])], **options)
    assert (got, err.code) == (status, code)
    assert text in err.message


def test_int8_runs_and_stays_close(bolt: tuple[Any, Any], co2: np.ndarray) -> None:
    adapter, loaded = bolt
    series = _windows(co2, 8)
    fp32, _ = _stack(_forecast(adapter, loaded, series, 24, backend="onnx"))
    int8, _ = _stack(_forecast(adapter, loaded, series, 24, precision="int8"))
    assert np.isfinite(int8).all()
    assert not np.array_equal(int8, fp32), "int8 must really run the quantised graph"
    # Tolerance (docs/families/chronos.md): the median moves by well under 1% of the series' level
    # on co2 with the tiny random checkpoint; the real-size MASE cost is in docs/benchmarks.md.
    rel = np.abs(int8 - fp32) / np.abs(fp32)
    assert float(rel.max()) < 0.01, float(rel.max())
