"""Float32 results as the numbers they print as: the shortest decimal that round-trips in float32.

Workers answer packed float32. Widening ``float32(3.3)`` to a Python float gives
3.299999952316284, which JSON, CSV and ``repr`` would print with all that noise. Each value
is replaced by the float64 nearest to its shortest float32 decimal (3.3, 130.87), the
number ``numpy`` prints for the float32 (its ``unique`` Dragon4 mode), so every encoder
prints it short and it still converts back to the same float32.

orjson writes a float32 array as exactly those decimals (Ryu's float32 mode), in C, and reads
them back as the nearest doubles: 9 µs for a 96-number answer where the vectorised numpy search
this replaced took 70 µs in a loop and ~0.25 ms inside the gateway (docs/benchmarks.md). It writes
NaN and ±inf as ``null``; those keep their own (exact) value.
"""

from __future__ import annotations

import numpy as np
import orjson

_NUMPY = orjson.OPT_SERIALIZE_NUMPY


def from_float32_bytes(data: bytes) -> list[float]:
    """Packed float32 (the worker protocol's arrays) as a list of shortest-decimal floats."""
    values = np.frombuffer(data, dtype=np.float32)
    out: list[float] = orjson.loads(orjson.dumps(values, option=_NUMPY))
    if None in out:  # non-finite values came back as null
        out = [w if v is None else v for v, w in zip(out, values.tolist(), strict=True)]
    return out
