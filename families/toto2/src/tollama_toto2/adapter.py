"""The Toto 2.0 adapter: Datadog's ``toto-2`` behind the tollama worker protocol.

Loading goes through ``Toto2Model.from_pretrained(directory, map_location=device, strict=True)``,
the library's public loader (huggingface_hub's mixin, with toto-2's own local-directory path): it
builds the model from ``config.json`` and loads ``model.safetensors`` (or the shards an index names)
strictly, so a missing or an unused tensor is an error. Forecasting goes through
``Toto2Model.forecast(inputs, horizon, ...)``, which returns the model's nine quantile knots
(0.1 ... 0.9) per variate; other levels are interpolated and the mean reported is the median
(Toto 2.0 forecasts quantiles, not a mean). The decoding settings that toto-2's own GluonTS
predictor uses by default (``scaler_fallback_min_obs``, ``quantile_real_cap_k``) are read from
``Toto2GluonTSModelConfig`` and passed on, so tollama forecasts as the library's predictor does.

Series with the same number of variates and the same (patch-padded) context length are stacked
into one call; every other input shape is its own call.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections import defaultdict
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
from tollama_kit.adapter import ForecastInput, ForecastOutput, Loaded, Options, SeriesOutput
from tollama_kit.devices import module_bytes
from tollama_kit.errors import BadInput, LoadFailed
from tollama_kit.quantiles import interpolate, interpolation_warning

from tollama_toto2.inputs import FAMILY, MAX_HORIZON, Notes, Prepared, Toto2Options, prepare

CONFIG_FILE = "config.json"
WEIGHTS_FILES = ("model.safetensors", "model.safetensors.index.json")
ROWS_PER_CALL = 256
"""Series stacked into one forward pass at most (memory grows with rows x variates x patches)."""


def _upstream() -> Any:
    """Import toto2 quietly (gluonts' json-module notice and torch deprecations are not actionable)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import toto2
        import toto2.model
    return toto2


def predictor_defaults() -> dict[str, Any]:
    """The decoding keywords of toto-2's GluonTS predictor, at that predictor's own defaults."""
    fields = {f.name: f.default for f in dataclasses.fields(_upstream().Toto2GluonTSModelConfig)}
    return {k: fields[k] for k in ("has_missing_values", "scaler_fallback_min_obs", "quantile_real_cap_k")}


@dataclass
class _Handle:
    model: Any
    levels: list[float]
    patch_size: int
    device: str
    decode: dict[str, Any]


class Toto2Adapter:
    family = FAMILY

    def describe(self) -> dict[str, str]:
        out = {}
        for dist in ("toto-2", "torch", "numpy"):
            try:
                out[dist] = version(dist)
            except PackageNotFoundError:
                continue
        return out

    def load(self, name: str, path: str, device: str, options: Options) -> Loaded:
        root = Path(path)
        if not (root / CONFIG_FILE).is_file() or not any((root / f).is_file() for f in WEIGHTS_FILES):
            raise LoadFailed(
                f"{name}: {root} lacks {CONFIG_FILE} or model.safetensors (a Toto 2.0 checkpoint is "
                "config.json + model.safetensors, or safetensors shards with their index)"
            )
        toto2 = _upstream()
        try:
            model = toto2.Toto2Model.from_pretrained(str(root), map_location=device, strict=True)
        except (RuntimeError, ValueError, KeyError, TypeError, AssertionError, OSError) as exc:
            raise LoadFailed(f"{name}: toto-2 could not load {root}: {exc}") from exc
        model = model.to(device).eval()
        handle = _Handle(
            model=model,
            levels=[round(float(q), 6) for q in model.output_head.knots],
            patch_size=int(model.config.patch_size),
            device=device,
            decode=predictor_defaults(),
        )
        return Loaded(handle=handle, device=device, memory_bytes=module_bytes(model))

    def unload(self, loaded: Loaded) -> None:
        loaded.handle = None

    def forecast(self, loaded: Loaded, batch: ForecastInput) -> ForecastOutput:
        handle: _Handle = loaded.handle
        if batch.horizon > MAX_HORIZON:
            raise BadInput(f"{FAMILY}: horizon {batch.horizon} exceeds the adapter's maximum {MAX_HORIZON}")
        opts = Toto2Options.parse(batch.options, handle.patch_size)
        notes = Notes()
        fill = _upstream().model.ffill_imputation
        prepared = [prepare(s, opts, handle.patch_size, notes, fill) for s in batch.series]
        native = self._native(handle, prepared, batch.horizon, opts)  # each (Q, V, H)
        note = interpolation_warning(FAMILY, handle.levels, batch.quantiles)
        if note:
            notes.add(note)
        median = handle.levels.index(0.5)
        outputs = [
            SeriesOutput(id=s.id, mean=q[median], quantiles=interpolate(handle.levels, q, batch.quantiles))
            for s, q in zip(batch.series, native, strict=True)
        ]
        return ForecastOutput(series=outputs, warnings=notes.items)

    def _native(self, handle: _Handle, prepared: list[Prepared], horizon: int, opts: Toto2Options) -> list[np.ndarray]:
        import torch

        groups: dict[tuple[int, int], list[int]] = defaultdict(list)
        for i, p in enumerate(prepared):
            groups[p.shape_key].append(i)
        out: list[np.ndarray | None] = [None] * len(prepared)
        for indices in groups.values():
            for at in range(0, len(indices), ROWS_PER_CALL):
                chunk = indices[at : at + ROWS_PER_CALL]
                target = torch.from_numpy(np.stack([prepared[i].values for i in chunk])).to(handle.device)
                mask = torch.from_numpy(np.stack([prepared[i].observed for i in chunk])).to(handle.device)
                inputs = {
                    "target": target,
                    "target_mask": mask,
                    # one id per series: its variates attend to each other, never to another series'
                    "series_ids": torch.zeros(target.shape[:2], dtype=torch.long, device=handle.device),
                }
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    q = handle.model.forecast(inputs, horizon, decode_block_size=opts.decode_block_size, **handle.decode)
                q = q.float().cpu().numpy()  # (Q, rows, V, H)
                for row, i in enumerate(chunk):
                    out[i] = q[:, row]
        return [q for q in out if q is not None]


def create_adapter() -> Toto2Adapter:
    return Toto2Adapter()
