"""Float32 results are answered as the shortest decimal that round-trips (3.3, not 3.299999952316284)."""

from __future__ import annotations

import json
import math

import numpy as np
from tollama.floats import from_float32_bytes


def test_pinned_values_print_short() -> None:
    got = from_float32_bytes(np.array([1.1, 2.2, 3.3, 130.87, 0.1, -42.5], dtype=np.float32).tobytes())
    assert json.dumps(got) == "[1.1, 2.2, 3.3, 130.87, 0.1, -42.5]"


def test_equals_numpys_shortest_float32_repr_and_round_trips() -> None:
    # numpy's own float32 printing (Dragon4, unique mode) is the oracle, over many magnitudes.
    rng = np.random.default_rng(7)
    mags = np.float32(10.0) ** rng.integers(-40, 38, 100_000).astype(np.float32)  # all of float32's range
    values = np.concatenate([
        rng.standard_normal(100_000).astype(np.float32) * mags,
        (rng.integers(-10**6, 10**6, 50_000) / 100).astype(np.float32),
    ])
    values = values[np.isfinite(values)]
    expected = values.astype(str).astype(np.float64)
    got = np.asarray(from_float32_bytes(values.tobytes()), dtype=np.float64)
    assert np.array_equal(got, expected)
    assert np.array_equal(got.astype(np.float32), values)


def test_edge_values_are_kept() -> None:
    values = np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 3.4e38, 1e-45, 2.5], dtype=np.float32)
    got = from_float32_bytes(values.tobytes())
    assert all(isinstance(v, float) for v in got)
    assert np.array_equal(np.asarray(got, dtype=np.float32), values, equal_nan=True)
    assert math.copysign(1.0, got[1]) == -1.0
    assert got[3] == math.inf and got[4] == -math.inf and math.isnan(got[2])
    assert got[5:] == [3.4e38, 1e-45, 2.5]
    assert from_float32_bytes(b"") == []
