"""statsforecast called directly through its own DataFrame API (not through the adapter).

``StatsForecast(models=[...], freq=1).forecast(df=..., h=..., level=...)`` on a long
frame with one ``unique_id`` per (series, variate). Quantiles are read from its interval
columns with the documented mapping: q < 0.5 → ``<model>-lo-<(1-2q)·100>``,
q > 0.5 → ``<model>-hi-<(2q-1)·100>``, q = 0.5 → the point forecast column; then sorted
across levels at each step so that they never cross.
The request must already be clean (no NaN): statsforecast refuses missing values.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import AutoETS, AutoTheta, Naive, SeasonalNaive

CLASSES: dict[str, Any] = {
    "naive": lambda m: Naive(),
    "seasonal-naive": lambda m: SeasonalNaive(season_length=m),
    "auto-ets": lambda m: AutoETS(season_length=m),
    "auto-theta": lambda m: AutoTheta(season_length=m),
}


def _level(q: float) -> int | float:
    level = round(abs(1 - 2 * q) * 100, 8)
    return int(level) if level == int(level) else level


def load(model: str, ckpt_dir: str | Path) -> str:
    """The snapshot holds no weights, only the model's name: check it and return the name."""
    config = json.loads((Path(ckpt_dir) / "config.json").read_text())
    if config["model"] != model:
        raise ValueError(f"checkpoint {ckpt_dir} is for {config['model']!r}, not {model!r}")
    return model


def direct_forecast(model: str, ckpt_dir: str | Path, request: dict[str, Any]) -> dict[str, Any]:
    return run(model, load(model, ckpt_dir), request)


def run(model: str, loaded: str, request: dict[str, Any]) -> dict[str, Any]:
    options = request.get("options", {})
    season = int(options.get("season_length", 1))
    context = options.get("context_length")
    horizon = int(request["horizon"])
    quantiles = [float(q) for q in request["quantiles"]]
    levels = sorted({_level(q) for q in quantiles if abs(q - 0.5) > 1e-9})

    frames, order = [], []
    for s in request["series"]:
        for row, values in enumerate(s["target"]):
            y = np.asarray(values, dtype=np.float64)
            if context is not None:
                y = y[-int(context) :]
            uid = f"{s['id']}#{row}"
            order.append((s["id"], row, uid))
            frames.append(pd.DataFrame({"unique_id": uid, "ds": np.arange(len(y)), "y": y}))
    df = pd.concat(frames, ignore_index=True)
    sf = StatsForecast(models=[CLASSES[model](season)], freq=1, n_jobs=1)
    alias = str(sf.models[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsforecast's numerical RuntimeWarnings on short fits
        fc = sf.forecast(df=df, h=horizon, level=levels or None)
    fc = fc.set_index("unique_id")

    def column(q: float) -> str:
        if abs(q - 0.5) < 1e-9:
            return alias
        return f"{alias}-{'lo' if q < 0.5 else 'hi'}-{_level(q)}"

    out: dict[str, dict[str, Any]] = {}
    for sid, _row, uid in order:
        part = fc.loc[[uid]].sort_values("ds")
        entry = out.setdefault(sid, {"id": sid, "mean": [], "quantiles": [[] for _ in quantiles]})
        entry["mean"].append(part[alias].to_numpy(np.float64).tolist())
        # Sorted across levels at each step (the documented mapping): simulated intervals (AutoTheta,
        # some AutoETS classes) need not be centred on the point forecast that stands for q = 0.5.
        grid = np.sort(np.stack([part[column(q)].to_numpy(np.float64) for q in quantiles]), axis=0)
        for i in range(len(quantiles)):
            entry["quantiles"][i].append(grid[i].tolist())
    return {"series": [out[s["id"]] for s in request["series"]]}
