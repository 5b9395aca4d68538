"""Chronos-Bolt's network through ONNX Runtime (the CPU fast path, ``options.backend``).

Only the network runs in ONNX Runtime: ``ChronosBoltModelForForecasting(context) -> quantile_preds``
(instance scaling, patching, the T5 encoder-decoder and the unscaling are all inside that forward
pass, so they are inside the graph). What ``ChronosBoltPipeline.predict`` does around it is done
here in numpy, step for step: left-pad the batch with NaN to its longest row, keep the last
``context_length`` points, and past the trained prediction length roll out autoregressively — every
native quantile is appended to the context, the ``n_q x n_q`` paths are forecast in one pass and
reduced to the native levels with linear-interpolation quantiles.

The graph has a dynamic batch axis and a dynamic length in whole patches (rows are left-padded with
NaN to a multiple of the patch size, which is what the model's own ``Patch`` layer does), so batch
1 and batch 64 and every context length share one exported file. It is cached by
:class:`tollama_kit.onnx_cache.GraphCache` under the checkpoint's digest and the exporter's versions.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tollama_kit.onnx_cache import ExportedNetwork, GraphCache, OnnxSession

RECIPE = "chronos-bolt-v1"  # bump when the exported wrapper or its inputs change

Predict = Callable[[list[np.ndarray], int], np.ndarray]  # rows, horizon -> (n_rows, n_native, horizon)


def _exportable_norm(original: Any) -> Any:
    """Chronos-Bolt's ``InstanceNorm`` with ``nanmean`` spelled out (ONNX has no NaN-aware mean).

    Same arithmetic: loc = mean of the observed points (0 when none), scale = root mean square of
    the observed deviations (1 when none, ``eps`` when 0). Used only while exporting."""
    import torch

    class Norm(torch.nn.Module):
        def forward(self, x: torch.Tensor, loc_scale: Any = None) -> Any:
            dtype = x.dtype
            x = x.to(torch.float32)
            if loc_scale is None:
                observed = ~torch.isnan(x)
                count = observed.sum(dim=-1, keepdim=True).to(torch.float32)
                loc = torch.where(observed, x, 0.0).sum(dim=-1, keepdim=True) / count
                loc = torch.nan_to_num(loc, nan=0.0)
                sq = torch.where(observed, (x - loc).square(), 0.0).sum(dim=-1, keepdim=True) / count
                scale = torch.nan_to_num(sq.sqrt(), nan=1.0)
                scale = torch.where(scale == 0, original.eps, scale)
            else:
                loc, scale = loc_scale
            return ((x - loc) / scale).to(dtype), (loc, scale)

        def inverse(self, x: torch.Tensor, loc_scale: Any, output_dtype: Any = None) -> torch.Tensor:
            return original.inverse(x, loc_scale, output_dtype)

    if getattr(original, "use_arcsinh", False):
        raise RuntimeError("an arcsinh instance norm is not exported (no Chronos-Bolt checkpoint uses one)")
    return Norm()


def _exportable_patch(original: Any) -> Any:
    """Chronos-Bolt's ``Patch`` for lengths that are whole patches (the runner pads them so) with
    non-overlapping patches: a reshape, which the exporter supports for a dynamic length (``unfold``
    it does not)."""
    import torch

    size = int(original.patch_size)
    if int(original.patch_stride) != size:
        raise RuntimeError("overlapping patches are not exported (no Chronos-Bolt checkpoint uses them)")

    class Patch(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.reshape(x.shape[0], -1, size)

    return Patch()


def _exportable_embedding(original: Any) -> Any:
    """The token embedding with its ids cast to int64: the tracer records ``torch.full`` of the
    [REG] / decoder-start ids with a traced batch size as a float tensor, which ONNX's Gather refuses."""
    import torch

    class Embedding(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = original

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            return self.inner(ids.to(torch.int64))

    return Embedding()


def export(model: Any, out: Path) -> None:
    """``torch.onnx.export`` of ``model``'s forward pass into one ``.onnx`` file.

    The TorchScript exporter (``dynamo=False``): on these machines the dynamo exporter spent over
    ten minutes in its decomposition pass on a tiny Bolt with a dynamic length, this one seconds.
    Its tracer bakes Python-level shape arithmetic into the graph, which is why the tests run it at
    several batch sizes and context lengths against the torch path."""
    import torch

    patch = int(model.chronos_config.input_patch_size)

    class Network(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, context: torch.Tensor) -> torch.Tensor:
            return self.model(context=context).quantile_preds

    example = torch.randn(2, 4 * patch)
    example[1, :patch] = torch.nan  # a left-padded row, as batches of unequal lengths have
    original = model.instance_norm, model.patch, model.shared, model.decoder.embed_tokens
    model.instance_norm, model.patch = _exportable_norm(original[0]), _exportable_patch(original[1])
    model.shared, model.decoder.embed_tokens = _exportable_embedding(original[2]), _exportable_embedding(original[3])
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the exporter's deprecation and tracer chatter
            torch.onnx.export(
                Network().eval(),
                (example,),
                str(out),
                input_names=["context"],
                output_names=["quantile_preds"],
                dynamic_axes={"context": {0: "batch", 1: "length"}, "quantile_preds": {0: "batch"}},
                dynamo=False,
            )
    finally:
        model.instance_norm, model.patch, model.shared, model.decoder.embed_tokens = original


class BoltOnnx:
    """One loaded Chronos-Bolt checkpoint's graphs (built on first use) and the pipeline's loop around them."""

    def __init__(self, model: Any, path: str, *, threads: int, cache: GraphCache | None = None) -> None:
        cfg = model.chronos_config
        self.patch = int(cfg.input_patch_size)
        self.context_length = int(cfg.context_length)
        self.prediction_length = int(cfg.prediction_length)
        self.quantiles = np.asarray(cfg.quantiles, dtype=np.float32)
        self.graphs = ExportedNetwork(RECIPE, path, lambda out: export(model, out), threads=threads, cache=cache)

    def session(self, precision: str = "float32") -> OnnxSession:
        return self.graphs.session(precision)

    def _forward(self, session: OnnxSession, context: np.ndarray) -> np.ndarray:
        """``context`` (n, L) with NaN for missing -> (n, n_native, prediction_length)."""
        context = context[:, -self.context_length :]
        short = (-context.shape[1]) % self.patch
        if short:
            context = np.concatenate([np.full((context.shape[0], short), np.nan, np.float32), context], axis=1)
        (out,) = session.run({"context": np.ascontiguousarray(context, dtype=np.float32)})
        return np.asarray(out, dtype=np.float32)

    def predictor(self, session: OnnxSession) -> Predict:
        def predict(rows: list[np.ndarray], horizon: int) -> np.ndarray:
            return self.predict(session, rows, horizon)

        return predict

    def predict(self, session: OnnxSession, rows: Sequence[np.ndarray], horizon: int) -> np.ndarray:
        longest = max(len(r) for r in rows)
        context = np.full((len(rows), longest), np.nan, np.float32)
        for i, r in enumerate(rows):
            context[i, longest - len(r) :] = r
        context = context[:, -self.context_length :]
        prediction = self._forward(session, context)
        parts, remaining = [prediction], horizon - prediction.shape[-1]
        if remaining > 0:
            context = np.repeat(context[:, None, :], len(self.quantiles), axis=1)  # (n, n_q, L)
        while remaining > 0:
            context = np.concatenate([context, prediction], axis=-1)[..., -self.context_length :]
            n, n_q, length = context.shape
            paths = self._forward(session, context.reshape(n * n_q, length)).reshape(n, n_q * n_q, -1)
            prediction = np.quantile(paths, self.quantiles, axis=1).transpose(1, 0, 2).astype(np.float32)
            parts.append(prediction)
            remaining -= prediction.shape[-1]
        return np.concatenate(parts, axis=-1)[..., :horizon]
