"""The chronos family adapter: Chronos (T5), Chronos-Bolt and Chronos-2 through chronos-forecasting.

Loading goes through the library's public loader, ``BaseChronosPipeline.from_pretrained``,
from the local snapshot directory (``local_files_only``; the worker also runs with
``HF_HUB_OFFLINE=1``). The loader dispatches on the checkpoint's
``config.chronos_pipeline_class``, so the checkpoint (not the registry name) decides which
path serves it; the name is only used in messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from tollama_kit.adapter import ForecastInput, ForecastOutput, Loaded, Options, SeriesOutput
from tollama_kit.devices import module_bytes
from tollama_kit.errors import BadInput, LoadFailed
from tollama_kit.quantiles import interpolation_warning

from tollama_chronos import onnx_backend
from tollama_chronos.covariates import KIND_LABELS, prepare
from tollama_chronos.options import ForecastOptions
from tollama_chronos.runners import RUNNERS

#: Largest horizon served per kind. Past the trained prediction length (T5 and Bolt: 64;
#: Chronos-2: 1024 in one pass) the library unrolls autoregressively and says so in a warning.
MAX_HORIZON = {"t5": 256, "bolt": 512, "chronos2": 1024}
DTYPES = ("auto", "float32", "bfloat16", "float16")


@dataclass
class Handle:
    name: str
    kind: str  # "t5" | "bolt" | "chronos2"
    pipeline: Any
    context_length: int
    prediction_length: int
    onnx: onnx_backend.OnnxState = field(default_factory=onnx_backend.OnnxState)

    @property
    def native_levels(self) -> list[float]:
        return [] if self.kind == "t5" else [float(q) for q in self.pipeline.quantiles]


def _kind(pipeline: Any) -> str:
    from chronos import ChronosBoltPipeline, ChronosPipeline
    from chronos.chronos2 import Chronos2Pipeline

    if isinstance(pipeline, Chronos2Pipeline):
        return "chronos2"
    if isinstance(pipeline, ChronosBoltPipeline):
        return "bolt"
    if isinstance(pipeline, ChronosPipeline):
        return "t5"
    raise LoadFailed(f"unsupported Chronos pipeline class {type(pipeline).__name__}")


def _dtype(device: str, options: Options) -> Any:
    import torch

    name = str(options.get("dtype", "auto"))
    if name not in DTYPES:
        raise BadInput(f"option 'dtype' must be one of {list(DTYPES)}, got {name!r}")
    if name == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    return getattr(torch, name)


class ChronosAdapter:
    family = "chronos"

    def describe(self) -> dict[str, str]:
        versions = {}
        for dist in ("chronos-forecasting", "torch", "transformers"):
            try:
                versions[dist] = metadata.version(dist)
            except metadata.PackageNotFoundError:
                versions[dist] = "missing"
        return versions

    def load(self, name: str, path: str, device: str, options: Options) -> Loaded:
        if not Path(path, "config.json").is_file():
            raise LoadFailed(f"{name}: no config.json in {path!r}")
        dtype = _dtype(device, options)
        from chronos import BaseChronosPipeline

        pipeline = BaseChronosPipeline.from_pretrained(path, device_map=device, dtype=dtype, local_files_only=True)
        kind = _kind(pipeline)
        handle = Handle(
            name=name,
            kind=kind,
            pipeline=pipeline,
            context_length=int(pipeline.model_context_length),
            prediction_length=int(pipeline.model_prediction_length),
            onnx=onnx_backend.prepare(kind, pipeline, path, device, dtype, options),
        )
        return Loaded(handle=handle, device=device, memory_bytes=module_bytes(pipeline.inner_model))

    def unload(self, loaded: Loaded) -> None:
        loaded.handle.pipeline = None

    def forecast(self, loaded: Loaded, batch: ForecastInput) -> ForecastOutput:
        handle: Handle = loaded.handle
        if handle.pipeline is None:
            raise BadInput(f"{handle.name} was unloaded")
        opts = ForecastOptions.parse(dict(batch.options))
        backend = opts  # its backend and precision fields (the kit's BackendChoice)
        wanted = [float(q) for q in batch.quantiles]
        if not wanted or any(not 0.0 < q < 1.0 for q in wanted):
            raise BadInput(f"quantile levels must lie strictly between 0 and 1, got {wanted}")
        limit = MAX_HORIZON[handle.kind]
        if not 1 <= batch.horizon <= limit:
            raise BadInput(f"{handle.name}: horizon must be between 1 and {limit}, got {batch.horizon}")
        context_length = min(opts.context_length or handle.context_length, handle.context_length)

        series, warnings = prepare(
            batch.series,
            horizon=batch.horizon,
            context_length=context_length,
            kind=handle.kind,
            model=handle.name,
        )
        if handle.kind != "t5":
            note = interpolation_warning(handle.name, handle.native_levels, wanted)
            if note:
                warnings.append(note)
        elif batch.horizon > handle.prediction_length:
            warnings.append(
                f"{handle.name} ({KIND_LABELS['t5']}): horizon {batch.horizon} exceeds the trained prediction "
                f"length {handle.prediction_length}; the rest was generated autoregressively"
            )
        runner = RUNNERS[handle.kind]
        extra: dict[str, Any] = {"context_length": context_length} if handle.kind == "chronos2" else {}
        predict = onnx_backend.select(handle.onnx, backend, handle.name, rows=len(series))
        if predict is not None:
            extra["predict"] = predict
            if batch.horizon > handle.prediction_length:
                warnings.append(
                    f"{handle.name} ({KIND_LABELS['bolt']}): horizon {batch.horizon} exceeds the trained prediction "
                    f"length {handle.prediction_length}; the rest was rolled out autoregressively"
                )
        results = runner(
            handle.pipeline, series, horizon=batch.horizon, wanted=wanted, opts=opts, sink=warnings, **extra
        )
        outputs = [SeriesOutput(id=s.id, mean=mean, quantiles=q) for s, (mean, q) in zip(series, results, strict=True)]
        return ForecastOutput(series=outputs, warnings=list(dict.fromkeys(warnings)))


def create_adapter() -> ChronosAdapter:
    return ChronosAdapter()
