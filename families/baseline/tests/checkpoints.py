"""Snapshot directories for the baseline models.

The baseline models have no weights: a snapshot is a directory holding one small
``config.json`` that names the model (``{"model": "auto-ets", ...}``). Nothing in it is
random, so a build is deterministic by construction.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

MODELS = ("naive", "seasonal-naive", "auto-ets", "auto-theta")


def build_checkpoint(model: str, out_dir: str | Path) -> Path:
    if model not in MODELS:
        raise ValueError(f"unknown baseline model {model!r}; expected one of {MODELS}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    config = {"model": model, "library": "statsforecast", "library_version": version("statsforecast")}
    (out / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    return out
