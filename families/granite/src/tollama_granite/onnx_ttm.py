"""TinyTimeMixer's network through ONNX Runtime (the CPU fast path, ``options.backend``).

Only the network runs in ONNX Runtime: ``TinyTimeMixerForPrediction(past_values, past_observed_mask
[, freq_token]) -> prediction_outputs``, with the model's own scaler inside the graph. The adapter
keeps everything around it (imputation, context windows, calibration windows, conformal quantiles).
The graph has a dynamic batch axis and the checkpoint's fixed context length: windows shorter than
it are left-padded here with unobserved zeros, which is what the model's forward pass does itself.
The graph is cached by :class:`tollama_kit.onnx_cache.GraphCache` under the checkpoint's digest and
the exporter's versions.

``auto`` serves through ONNX Runtime on CPU whenever the graph is ready (exported by this load, or in
the graph cache from an earlier ``backend: onnx``), at every batch size: ``bench/onnx.py`` measured it
1.4–3.3× faster than torch for TTM r2 512-96 at batch sizes 1 to 64 on the project's 2-core machine
(docs/benchmarks.md). It never exports by itself and never picks int8, which changes the numbers and
is an explicit opt-in.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tollama_kit import onnx_cache
from tollama_kit.onnx_cache import BackendChoice, ExportedNetwork, GraphCache, OnnxSession
from tollama_kit.options import parse_options

RECIPE = "granite-ttm-v1"  # bump when the exported wrapper or its inputs change

log = logging.getLogger("tollama.granite")


def export(model: Any, out: Path, *, prefix_tuning: bool) -> None:
    """``torch.onnx.export`` (the dynamo exporter; only the batch axis is dynamic) into one ``.onnx`` file.

    The TorchScript exporter traces TinyTimeMixer's adaptive-patching reshapes wrongly (ONNX Runtime
    then refuses the graph with a MatMul shape mismatch at every batch size)."""
    import torch

    context = int(model.config.context_length)

    class Network(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, past_values: torch.Tensor, past_observed_mask: torch.Tensor) -> Any:
            return self.model(past_values=past_values, past_observed_mask=past_observed_mask).prediction_outputs

    class PrefixNetwork(Network):
        def forward(self, past_values: torch.Tensor, past_observed_mask: torch.Tensor, freq_token: torch.Tensor) -> Any:  # type: ignore[override]
            out = self.model(past_values=past_values, past_observed_mask=past_observed_mask, freq_token=freq_token)
            return out.prediction_outputs

    values = torch.randn(2, context, 1)
    mask = torch.ones(2, context, 1, dtype=torch.bool)
    mask[1, : context // 2] = False
    args: tuple[Any, ...] = (values, mask) + ((torch.zeros(2, dtype=torch.long),) if prefix_tuning else ())
    names = ["past_values", "past_observed_mask"] + (["freq_token"] if prefix_tuning else [])
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the exporter's deprecation and tracer chatter
        batch = torch.export.Dim("batch", min=1, max=1 << 16)
        torch.onnx.export(
            (PrefixNetwork() if prefix_tuning else Network()).eval(),
            args,
            str(out),
            input_names=names,
            output_names=["prediction_outputs"],
            dynamic_shapes=({0: batch}, {0: batch}) + (({0: batch},) if prefix_tuning else ()),
            dynamo=True,
            external_data=False,
            optimize=True,
        )


class TtmOnnx:
    """One loaded TinyTimeMixer checkpoint's graphs (built on first use) and its forward pass."""

    def __init__(self, model: Any, path: str, *, threads: int, prefix_tuning: bool, cache: GraphCache | None = None):
        self.context_length = int(model.config.context_length)
        self.prefix_tuning = prefix_tuning
        self.graphs = ExportedNetwork(
            RECIPE, path, lambda out: export(model, out, prefix_tuning=prefix_tuning), threads=threads, cache=cache
        )

    def run(
        self, session: OnnxSession, values: np.ndarray, mask: np.ndarray, token: int | None, batch_size: int
    ) -> np.ndarray:
        """``values``/``mask`` ``(windows, width)`` → forecasts ``(windows, prediction_length)``."""
        n, width = values.shape
        pad = self.context_length - width
        if pad > 0:
            values = np.concatenate([np.zeros((n, pad), np.float32), values], axis=1)
            mask = np.concatenate([np.zeros((n, pad), bool), mask], axis=1)
        values = np.ascontiguousarray(values[:, -self.context_length :, None], dtype=np.float32)
        mask = np.ascontiguousarray(mask[:, -self.context_length :, None], dtype=bool)
        outs = []
        for start in range(0, n, batch_size):
            feeds = {
                "past_values": values[start : start + batch_size],
                "past_observed_mask": mask[start : start + batch_size],
            }
            if self.prefix_tuning:
                feeds["freq_token"] = np.full((feeds["past_values"].shape[0],), token or 0, np.int64)
            (out,) = session.run(feeds)
            outs.append(np.asarray(out, np.float32)[..., 0])
        return np.concatenate(outs)


@dataclass(frozen=True)
class OnnxState:
    ttm: TtmOnnx | None = None
    reason: str = "not prepared"


def prepare(model: Any, path: str, device: str, prefix_tuning: bool, options: Any) -> OnnxState:
    import torch

    if device != "cpu":
        return OnnxState(reason=f"the ONNX path runs on CPU only; this model is loaded on {device}")
    ttm = TtmOnnx(model, path, threads=torch.get_num_threads(), prefix_tuning=prefix_tuning)
    if parse_options(options, BackendChoice).backend == "onnx":  # else exported on the first forecast that asks for it
        try:
            ttm.graphs.session("float32")
        except Exception as exc:
            log.warning("TinyTimeMixer ONNX export failed, serving with torch: %s", exc)
            return OnnxState(reason=f"the ONNX export failed: {exc}")
    return OnnxState(ttm=ttm)


def use_onnx(windows: int) -> bool:
    """The ``auto`` rule: ONNX Runtime at every batch size, where a graph is ready (module docstring)."""
    del windows
    return True


def select(state: OnnxState, choice: BackendChoice, name: str, *, windows: int) -> OnnxSession | None:
    graphs = state.ttm.graphs if state.ttm is not None else None
    return onnx_cache.select(graphs, state.reason, choice, name, auto=use_onnx(windows))
