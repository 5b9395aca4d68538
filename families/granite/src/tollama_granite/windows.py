"""numpy helpers: missing values and the context windows fed to TinyTimeMixer."""

from __future__ import annotations

import numpy as np
from tollama_kit.errors import BadInput

IMPUTE_METHODS = ("linear", "forward_fill", "zero")


def impute(values: np.ndarray, method: str, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Fill the NaNs of a 1-D series; return (filled float32, observed mask).

    ``linear`` interpolates inside and holds the nearest value at the ends; ``forward_fill``
    carries the last value forward (leading gaps take the first value); ``zero`` fills 0
    (granite-tsfm's ``fill`` default). The mask keeps the gaps out of the model's scaler.
    """
    values = np.asarray(values, dtype=np.float32)
    observed = np.isfinite(values)
    if not observed.any():
        raise BadInput(f"{what} has no observed value")
    if observed.all():
        return values.copy(), observed
    idx = np.arange(values.shape[0])
    if method == "linear":
        filled = np.interp(idx, idx[observed], values[observed]).astype(np.float32)
    elif method == "forward_fill":
        last = np.where(observed, idx, -1)
        np.maximum.accumulate(last, out=last)
        first = values[observed][0]
        filled = np.where(last >= 0, values[np.maximum(last, 0)], first).astype(np.float32)
    else:
        filled = np.where(observed, values, 0.0).astype(np.float32)
    return filled, observed


def context_windows(
    values: np.ndarray, mask: np.ndarray, cuts: np.ndarray, width: int, context: int
) -> tuple[np.ndarray, np.ndarray]:
    """The ``width`` points before each cut (``(len(cuts), width)``), left-padded with unobserved zeros.

    Points more than ``context`` before a cut are blanked the same way, so every window uses at
    most ``context`` points: TinyTimeMixer's own convention for short inputs (its forward pass
    left-pads with zeros and marks them unobserved).
    """
    pad_v = np.concatenate([np.zeros(width, np.float32), values.astype(np.float32)])
    pad_m = np.concatenate([np.zeros(width, bool), mask.astype(bool)])
    starts = np.asarray(cuts, dtype=np.int64)  # window for cut t is pad[t : t + width]
    take = starts[:, None] + np.arange(width)[None, :]
    win_v = pad_v[take]
    win_m = pad_m[take]
    if context < width:
        win_v[:, : width - context] = 0.0
        win_m[:, : width - context] = False
    return win_v, win_m
