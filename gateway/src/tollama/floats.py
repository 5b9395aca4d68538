"""Float32 results as the numbers they print as: the shortest decimal that round-trips in float32.

Workers answer packed float32. Widening ``float32(3.3)`` to a Python float gives
3.299999952316284, which JSON, CSV and ``repr`` would print with all that noise. Each value
is replaced by the float64 nearest to its shortest float32 decimal (3.3, 130.87), the
number ``numpy`` prints for the float32 (its ``unique`` Dragon4 mode), so every encoder
prints it short and it still converts back to the same float32.

The search is vectorised: for 6, 7, 8 and 9 significant digits (9 always round-trips), round
at that many digits and keep the first rounding whose float32 is the original value. Six
digits first is enough for the shortest: the float32 rounding interval is narrower than the
6-digit spacing, so a shorter decimal that round-trips is also the 6-digit rounding.
The scales are exact doubles (powers of ten up to 10**22), so each rounding is the double
nearest its decimal; the rare magnitudes that would need more (below 1e-14, above 1e27) go
through numpy's own float32 printing instead. Non-finite values are kept as they are.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_SHIFT = np.array([6, 7, 8, 9], dtype=np.float64)[:, None] - 1.0  # decimal places of x in [1, 10)
_POW10 = 10.0 ** np.arange(23, dtype=np.float64)


def shortest(values: Any) -> Any:
    """float64 array: each float32 of ``values`` as its shortest round-tripping decimal."""
    x32 = np.asarray(values, dtype=np.float32)
    x = x32.astype(np.float64)
    if x.size == 0:
        return x
    with np.errstate(all="ignore"):  # log10(0) = -inf; overflow at extreme scales is checked below
        exponent = np.floor(np.log10(np.abs(x)))
        exponent[~np.isfinite(exponent)] = 0.0  # 0, nan, inf: rounded to themselves or kept
        shift = _SHIFT - exponent  # (4, n): decimal places at 6, 7, 8, 9 significant digits
        scale = _POW10[np.minimum(np.abs(shift), 22.0).astype(np.intp)]
        rounded = np.rint(x * scale) / scale
        if exponent.max() > 5:  # |x| >= 1e6: 6 digits round to tens or more, so divide there
            rounded = np.where(shift >= 0, rounded, np.rint(x / scale) * scale)
    ok = rounded.astype(np.float32) == x32
    first = ok.argmax(axis=0)
    picked = rounded[first, np.arange(x.size)]
    out = np.where(ok.any(axis=0), picked, x)
    far = (exponent < -14) | (exponent > 27)
    if far.any():
        out[far] = x32[far].astype(str).astype(np.float64)
    return out


def from_float32_bytes(data: bytes) -> list[float]:
    """Packed float32 (the worker protocol's arrays) as a list of shortest-decimal floats."""
    return shortest(np.frombuffer(data, dtype=np.float32)).tolist()  # type: ignore[no-any-return]
