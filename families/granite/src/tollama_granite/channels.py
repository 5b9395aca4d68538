"""Channel-independent forecasting shared by FlowState and PatchTST-FM.

Every target variate of every series is one row, cut to the history the model reads. Rows of
equal length share a forward pass (batching different lengths would need padding, which changes
what these models read); the native quantiles are mapped to the requested levels at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from tollama_kit.adapter import ForecastInput, ForecastOutput, SeriesOutput
from tollama_kit.errors import BadInput
from tollama_kit.notes import refuse_unusable
from tollama_kit.quantiles import interpolate, interpolation_warning

# (past_values (B, T, 1) on the model's device) -> the library's output (prediction_outputs, quantile_outputs)
Call = Callable[[Any], Any]


def cut_rows(batch: ForecastInput, width: int, model: str) -> list[np.ndarray]:
    """The rows ``model`` forecasts. It reads no covariates (its catalogue entry declares none, so the
    gateway drops or refuses them): any that reach it are refused rather than silently ignored."""
    rows = []
    for s in batch.series:
        for kind, names in (("past", s.past_covariates), ("future", s.future_covariates), ("static", s.static_covariates)):
            refuse_unusable("granite", f"{model} (series {s.id!r})", f"{kind} covariates", list(names))
        for c in range(s.n_targets):
            values = s.target[c, -width:]
            if not np.isfinite(values).any():
                raise BadInput(f"series {s.id!r} target {c} has no observed value in its last {width} points")
            rows.append(np.ascontiguousarray(values, dtype=np.float32))
    return rows


def run_rows(rows: list[np.ndarray], horizon: int, n_levels: int, batch_size: int, device: str, call: Call
             ) -> tuple[np.ndarray, np.ndarray]:
    """Means ``(rows, H)`` and native quantiles ``(levels, rows, H)``."""
    import torch

    means = np.empty((len(rows), horizon), np.float32)
    quants = np.empty((n_levels, len(rows), horizon), np.float32)
    by_length: dict[int, list[int]] = {}
    for i, row in enumerate(rows):
        by_length.setdefault(row.shape[0], []).append(i)
    with torch.inference_mode():
        for idx in by_length.values():
            for start in range(0, len(idx), batch_size):
                take = idx[start : start + batch_size]
                x = torch.from_numpy(np.stack([rows[i] for i in take])[:, :, None]).to(device)
                out = call(x)
                means[take] = out.prediction_outputs[..., 0].float().cpu().numpy()  # (B, H, 1)
                quants[:, take] = np.transpose(out.quantile_outputs[..., 0].float().cpu().numpy(), (1, 0, 2))  # (B, Q, H, 1)
    return means, quants


def to_output(batch: ForecastInput, levels: tuple[float, ...], means: np.ndarray, quants: np.ndarray,
              warnings: list[str]) -> ForecastOutput:
    note = interpolation_warning("granite", levels, batch.quantiles)
    if note:
        warnings.append(note)
    wanted = interpolate(levels, quants, batch.quantiles) if batch.quantiles else quants[:0]
    out, row = [], 0
    for s in batch.series:
        k = s.n_targets
        out.append(SeriesOutput(id=s.id, mean=means[row : row + k], quantiles=wanted[:, row : row + k].astype(np.float32)))
        row += k
    return ForecastOutput(series=out, warnings=warnings)
