"""Which backend serves a Chronos forecast (``options.backend``/``options.precision``), and the ONNX
state of a loaded model.

Only Chronos-Bolt has an ONNX path, and only on CPU in float32 (the exported graph is float32; int8
is ONNX Runtime's dynamic quantisation of it). The graph is exported (or found in the cache) at load
when the load options say ``backend: onnx``, else on the first forecast that asks for it; a failed
export at load is logged and leaves the model on torch, and then ``backend: onnx`` is an
``Unsupported`` error that gives the reason.

``auto`` (the default) serves Bolt on CPU in float32 through ONNX Runtime whenever its graph is ready
(exported by this load, or in the graph cache from an earlier ``backend: onnx``), at every batch size:
``bench/onnx.py`` measured ONNX Runtime 2.0–4.5× faster than torch for Chronos-Bolt-small at batch
sizes 1 to 64 on the project's 2-core machine (docs/benchmarks.md). It never exports by itself (an
export costs seconds to minutes, and the first forecast should not pay it) and never picks int8:
that changes the numbers and is an explicit opt-in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from tollama_kit import onnx_cache
from tollama_kit.onnx_cache import BackendChoice
from tollama_kit.options import parse_options

from tollama_chronos.onnx_bolt import BoltOnnx

log = logging.getLogger("tollama.chronos")

Predict = Callable[[list[np.ndarray], int], np.ndarray]


@dataclass(frozen=True)
class OnnxState:
    bolt: BoltOnnx | None = None
    reason: str = "the ONNX path serves Chronos-Bolt only"


def prepare(kind: str, pipeline: Any, path: str, device: str, dtype: Any, options: dict[str, Any]) -> OnnxState:
    import torch

    if kind != "bolt":
        return OnnxState()
    if device != "cpu":
        return OnnxState(reason=f"the ONNX path runs on CPU only; this model is loaded on {device}")
    if dtype != torch.float32:
        return OnnxState(reason=f"the ONNX path is float32; this model is loaded as {dtype}")
    onnx = BoltOnnx(pipeline.model, path, threads=torch.get_num_threads())
    if parse_options(options, BackendChoice).backend == "onnx":
        try:
            onnx.session("float32")
        except Exception as exc:
            log.warning("Chronos-Bolt ONNX export failed, serving with torch: %s", exc)
            return OnnxState(reason=f"the ONNX export failed: {exc}")
    return OnnxState(bolt=onnx)


def use_onnx(rows: int) -> bool:
    """The ``auto`` rule: ONNX Runtime at every batch size, where a graph is ready (module docstring)."""
    del rows
    return True


def select(state: OnnxState, choice: BackendChoice, name: str, *, rows: int) -> Predict | None:
    """The ONNX predictor to use, or ``None`` for the torch path."""
    graphs = state.bolt.graphs if state.bolt is not None else None
    session = onnx_cache.select(graphs, state.reason, choice, name, auto=use_onnx(rows))
    return None if session is None or state.bolt is None else state.bolt.predictor(session)
