"""The TiRex-2 adapter: NX-AI's ``tirex-2`` behind the tollama worker protocol.

Loading goes through ``tirex2.load_model(directory, device=...)``, the library's public loader:
it reads ``config.json`` and ``model.safetensors``, restores the tensors the checkpoint stores once
for several names, and loads strictly (a missing or an unused tensor is an error). Forecasting goes
through ``ForecastModel.forecast(list[TimeseriesType], prediction_length)``, which returns the
model's nine native quantiles per target; other levels are interpolated, and the mean reported is
the median (TiRex-2 forecasts quantiles, not a mean).

The model runs eagerly: tirex-2 wraps a block in ``torch.compile``, whose first call compiles C++
with the host compiler (155 s on two cores here, and no compiler in the worker image) and gives the
same numbers as the eager call. ``torch.compiler.set_stance("force_eager")`` is set once per worker
process before the first forecast.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tollama_kit.adapter import ForecastInput, ForecastOutput, Loaded, Options, SeriesOutput
from tollama_kit.devices import module_bytes
from tollama_kit.errors import BadInput, LoadFailed
from tollama_kit.loading import library_versions, require_files
from tollama_kit.notes import Notes
from tollama_kit.options import parse_options
from tollama_kit.quantiles import interpolate, interpolation_warning

from tollama_tirex.inputs import FAMILY, Prepared, prepare
from tollama_tirex.options import TirexOptions

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


def _upstream() -> Any:
    """Import tirex2 quietly (torch's own import-time deprecation notices are not actionable) and eager."""
    import torch

    torch.compiler.set_stance("force_eager")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import tirex2
    return tirex2


@dataclass
class _Handle:
    model: Any
    """``tirex2.ForecastModel`` (the ``TiRex2`` backbone is ``model.model``)."""
    levels: list[float]
    max_horizon: int
    device: str


def _library_device(device: str) -> str:
    """tirex-2 takes ``cpu``, ``cuda`` or ``mps``; ``cuda:N`` selects the current CUDA device first."""
    if device.startswith("cuda"):
        import torch

        torch.cuda.set_device(int(device.partition(":")[2] or 0))
        return "cuda"
    return device


class TirexAdapter:
    family = FAMILY

    def describe(self) -> dict[str, str]:
        return library_versions("tirex-2", "torch", "numpy")

    def load(self, name: str, path: str, device: str, options: Options) -> Loaded:
        root = Path(path)
        require_files(name, root, (CONFIG_FILE, WEIGHTS_FILE), "a TiRex-2 checkpoint is config.json + model.safetensors")
        tirex2 = _upstream()
        try:
            model = tirex2.load_model(str(root), device=_library_device(device))
        except (RuntimeError, ValueError, KeyError, TypeError) as exc:
            raise LoadFailed(f"{name}: tirex-2 could not load {root}: {exc}") from exc
        backbone = model.model
        handle = _Handle(
            model=model,
            levels=[round(float(q), 6) for q in backbone.quantiles],
            max_horizon=int(backbone.future_len),
            device=device,
        )
        return Loaded(handle=handle, device=device, memory_bytes=module_bytes(backbone))

    def unload(self, loaded: Loaded) -> None:
        loaded.handle = None

    def forecast(self, loaded: Loaded, batch: ForecastInput) -> ForecastOutput:
        handle: _Handle = loaded.handle
        if batch.horizon > handle.max_horizon:
            raise BadInput(
                f"{FAMILY}: horizon {batch.horizon} exceeds this checkpoint's maximum {handle.max_horizon} "
                "(config.json future_len)"
            )
        opts = parse_options(batch.options, TirexOptions)
        notes = Notes()
        prepared = [prepare(s, batch.horizon, opts) for s in batch.series]
        native = self._native(handle, prepared, batch.horizon, opts)  # each (V_t, Q, H)
        note = interpolation_warning(FAMILY, handle.levels, batch.quantiles)
        if note:
            notes.add(note)
        median = handle.levels.index(0.5) if 0.5 in handle.levels else None
        outputs = []
        for s, q in zip(batch.series, native, strict=True):
            by_level = np.moveaxis(q, 1, 0)  # (Q, V_t, H)
            mean = by_level[median] if median is not None else interpolate(handle.levels, by_level, [0.5])[0]
            outputs.append(
                SeriesOutput(id=s.id, mean=mean, quantiles=interpolate(handle.levels, by_level, batch.quantiles))
            )
        return ForecastOutput(series=outputs, warnings=notes.items)

    def _native(self, handle: _Handle, prepared: list[Prepared], horizon: int, opts: TirexOptions) -> list[np.ndarray]:
        import torch

        tirex2 = _upstream()
        tensor = lambda a: None if a is None else torch.from_numpy(a)  # noqa: E731
        series = [
            tirex2.TimeseriesType(target=tensor(p.target), past_covariates=tensor(p.past), future_covariates=tensor(p.future))
            for p in prepared
        ]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = handle.model.forecast(
                series, prediction_length=horizon, output_type="numpy", batch_size=opts.batch_size,
                **opts.predict_kwargs(),
            )
        return [np.asarray(f, dtype=np.float32) for f in out]


def create_adapter() -> TirexAdapter:
    return TirexAdapter()
