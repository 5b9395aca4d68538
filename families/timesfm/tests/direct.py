"""The upstream library called DIRECTLY (its public API, not the adapter), for parity tests.

``run(model, load(model, ckpt_dir), request)`` takes the JSON request shape of ``fixtures_cli direct``::

    {"horizon": H, "quantiles": [...], "options": {...},
     "series": [{"id": "..", "target": [[...]], "past_covariates": {...}, "future_covariates": {...}}]}

and returns ``{"series": [{"id", "mean": [[...]] (n_targets x H), "quantiles": [[[...]]]
(levels x n_targets x H)}]}``. As the TimesFM README does it: ``compile(ForecastConfig(...))``
then ``forecast`` with the list of target rows (one call per context length), or
``forecast_with_covariates`` row by row when the series has future covariates; index 0 of the last
axis = mean, 1..9 = q0.1..q0.9, other levels by linear interpolation between them.
Past-only covariates are ignored (TimesFM has no use for them).
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np

from . import tiny_architecture as testing_patch
from .checkpoints import MODELS, is_tiny

GRID = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
# The documented defaults of the family (docs/families/timesfm.md), written out here on
# purpose rather than imported from the adapter.
DEFAULT_FLAGS = {
    "normalize_inputs": True,
    "use_continuous_quantile_head": True,
    "force_flip_invariance": True,
    "infer_is_positive": True,
    "fix_quantile_crossing": True,
}


def load(model: str, ckpt_dir: str | Path) -> Any:
    import timesfm

    if model not in MODELS:
        raise ValueError(f"unknown timesfm model {model!r}")
    tiny = is_tiny(ckpt_dir)
    with testing_patch.patched(tiny=True) if tiny else nullcontext():
        return timesfm.TimesFM_2p5_200M_torch.from_pretrained(str(ckpt_dir), torch_compile=False)


def run(model: str, tfm: Any, request: dict[str, Any]) -> dict[str, Any]:
    import timesfm

    horizon = int(request["horizon"])
    levels = [float(q) for q in request["quantiles"]]
    options = request.get("options", {})
    flags = {k: bool(options.get(k, v)) for k, v in DEFAULT_FLAGS.items()}
    context_length = int(options.get("context_length", 1024))
    # Rows without covariates go to the library together, as the README's list of inputs does
    # (one compile and one forecast per context length); rows with covariates one by one.
    grids: dict[tuple[int, int], np.ndarray] = {}
    plain: dict[int, list[tuple[tuple[int, int], np.ndarray]]] = {}
    for si, s in enumerate(request["series"]):
        target = np.asarray(s["target"], dtype=np.float32)
        length = target.shape[1]
        n = min(length, context_length)
        future = s.get("future_covariates") or {}
        for ri, row in enumerate(target):
            y = row[-n:].astype(np.float64)
            if not future:
                plain.setdefault(n, []).append(((si, ri), y))
                continue
            tfm.compile(timesfm.ForecastConfig(max_context=n, max_horizon=horizon, return_backcast=True, **flags))
            numeric = {
                k: [np.asarray(v, dtype=np.float64)[length - n :]] for k, v in future.items() if not isinstance(v[0], str)
            }
            categorical = {k: [list(v)[length - n :]] for k, v in future.items() if isinstance(v[0], str)}
            _, q = tfm.forecast_with_covariates(
                inputs=[y],
                dynamic_numerical_covariates=numeric or None,
                dynamic_categorical_covariates=categorical or None,
                xreg_mode=options.get("xreg_mode", "xreg + timesfm"),
                ridge=float(options.get("ridge", 0.0)),
                force_on_cpu=True,
            )
            grids[(si, ri)] = np.asarray(q[0])[:horizon]
    for n, items in plain.items():
        tfm.compile(timesfm.ForecastConfig(max_context=n, max_horizon=horizon, per_core_batch_size=len(items), **flags))
        _, q = tfm.forecast(horizon=horizon, inputs=[y for _, y in items])
        for (key, _), grid in zip(items, np.asarray(q), strict=True):
            grids[key] = grid[:horizon]
    out = []
    for si, s in enumerate(request["series"]):
        qs = [grids[(si, ri)] for ri in range(len(s["target"]))]
        out.append(
            {
                "id": s["id"],
                "mean": np.asarray([q[:, 0] for q in qs]).tolist(),
                # (levels, n_targets, H)
                "quantiles": np.moveaxis(np.asarray([[_level(q[:, 1:], lv) for lv in levels] for q in qs]), 1, 0).tolist(),
            }
        )
    return {"series": out}


def _level(grid_values: np.ndarray, level: float) -> np.ndarray:
    """(H, 9) native quantiles → (H,) at ``level`` (exact on the grid, linear between, clamped outside)."""
    return np.array([np.interp(level, GRID, step) for step in grid_values])
