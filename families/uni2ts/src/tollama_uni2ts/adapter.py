"""The uni2ts adapter: Moirai 1.1 (sampled mixture forecasts) and Moirai 2.0 (9 quantiles).

Loading goes through the library's public loader, ``MoiraiModule.from_pretrained(dir)`` /
``Moirai2Module.from_pretrained(dir)`` (``PyTorchModelHubMixin``; strict, so a checkpoint
with missing or unexpected weights fails instead of running half-random). One
``MoiraiForecast``/``Moirai2Forecast`` wrapper is built per loaded model and re-shaped per
request with uni2ts' own ``hparams_context`` (prediction length, context length,
target/covariate dims): no per-request model construction.

Forecasts use the wrappers' tensor ``forward`` (not the GluonTS predictor, which breaks
for Moirai 2 on newer gluonts), with the predictor's exact input layout (see ``inputs``),
so results equal uni2ts' predictor (tests/direct.py) to float precision.

Sampling (Moirai 1.x): each series is sampled on its own after ``torch.manual_seed(seed)``
(option ``seed``, default 0), so a series' forecast does not depend on what it was
batched with. ``seed = -1`` samples the whole chunk in one pass, unseeded: faster for
many series, not reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from tollama_kit.adapter import ForecastInput, ForecastOutput, Loaded, Options, SeriesOutput
from tollama_kit.devices import module_bytes
from tollama_kit.errors import BadInput
from tollama_kit.quantiles import from_samples, interpolate, interpolation_warning

from tollama_uni2ts import inputs
from tollama_uni2ts.catalog import SPECS, Kind, Spec, kind_for

FAMILY = "uni2ts"


@dataclass
class Handle:
    kind: Kind
    spec: Spec
    module: Any
    forecaster: Any
    device: str


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for dist in ("uni2ts", "torch", "gluonts", "huggingface-hub", "numpy"):
        try:
            found[dist] = version(dist)
        except PackageNotFoundError:
            continue
    return found


class Uni2tsAdapter:
    family = FAMILY

    def describe(self) -> dict[str, str]:
        return _versions()

    def load(self, name: str, path: str, device: str, options: Options) -> Loaded:
        kind = kind_for(name, path)
        dims = {
            "prediction_length": 1,
            "context_length": 1,
            "target_dim": 1,
            "feat_dynamic_real_dim": 0,
            "past_feat_dynamic_real_dim": 0,
        }
        if kind == "moirai-1":
            from uni2ts.model.moirai import MoiraiForecast, MoiraiModule

            module = MoiraiModule.from_pretrained(path, map_location="cpu", strict=True)
            forecaster = MoiraiForecast(module=module, patch_size="auto", num_samples=100, **dims)
        else:
            from uni2ts.model.moirai2 import Moirai2Forecast, Moirai2Module

            module = Moirai2Module.from_pretrained(path, map_location="cpu", strict=True)
            forecaster = Moirai2Forecast(module=module, **dims)
        forecaster = forecaster.to(device).eval()
        handle = Handle(kind=kind, spec=SPECS[kind], module=module, forecaster=forecaster, device=device)
        return Loaded(handle=handle, device=device, memory_bytes=module_bytes(module))

    def unload(self, loaded: Loaded) -> None:
        handle: Handle = loaded.handle
        handle.forecaster = None
        handle.module = None

    def forecast(self, loaded: Loaded, batch: ForecastInput) -> ForecastOutput:
        import torch

        handle: Handle = loaded.handle
        spec = handle.spec
        horizon = batch.horizon
        if horizon > spec.max_horizon:
            raise BadInput(f"horizon {horizon} exceeds this model's maximum of {spec.max_horizon}")
        patch_sizes = list(getattr(handle.module, "patch_sizes", [getattr(handle.module, "patch_size", 16)]))
        cfg = inputs.settings(batch.options, spec, patch_sizes)
        prep = inputs.prepare(batch.series, horizon, cfg)
        warnings = list(prep.warnings)
        levels = list(batch.quantiles)
        results: list[SeriesOutput | None] = [None] * len(batch.series)
        if handle.kind == "moirai-2":
            note = interpolation_warning(FAMILY, handle.module.quantile_levels, levels)
            if note:
                warnings.append(note)
        with torch.inference_mode():
            for chunk in self._chunks(prep.series, handle.kind, cfg):
                mean, quantiles = self._run(handle, chunk, horizon, levels, cfg)
                for b, p in enumerate(chunk):
                    sid = batch.series[p.index].id
                    results[p.index] = SeriesOutput(id=sid, mean=mean[b], quantiles=quantiles[:, b])
        return ForecastOutput(series=[r for r in results if r is not None], warnings=warnings)

    @staticmethod
    def _chunks(series: list[inputs.Prepared], kind: Kind, cfg: inputs.Settings) -> list[list[inputs.Prepared]]:
        """Same-shaped series (targets, covariates) in chunks of ``batch_size``.

        Seeded Moirai 1.x sampling runs one series per pass (see the module docstring).
        """
        size = 1 if kind == "moirai-1" and cfg.seed >= 0 else cfg.batch_size
        groups: dict[tuple[int, int, int], list[inputs.Prepared]] = {}
        for p in series:
            groups.setdefault(p.key, []).append(p)
        return [g[i : i + size] for g in groups.values() for i in range(0, len(g), size)]

    @staticmethod
    def _run(
        handle: Handle, chunk: list[inputs.Prepared], horizon: int, levels: list[float], cfg: inputs.Settings
    ) -> tuple[np.ndarray, np.ndarray]:
        """Forecast one chunk: mean (B, V, H) and quantiles (Q, B, V, H)."""
        import torch

        n_targets, n_future, n_past = chunk[0].key
        context = max(p.window for p in chunk)
        hparams: dict[str, Any] = {
            "prediction_length": horizon,
            "context_length": context,
            "target_dim": n_targets,
            "feat_dynamic_real_dim": n_future,
            "past_feat_dynamic_real_dim": n_past,
        }
        if handle.kind == "moirai-1":
            hparams.update(patch_size=cfg.patch_size, num_samples=cfg.num_samples)
        with handle.forecaster.hparams_context(**hparams) as net:
            past_length = int(net.past_length)
            arrays = inputs.tensors(
                chunk, horizon, past_length, causal_impute_target=handle.kind == "moirai-2" and n_targets == 1
            )
            kwargs = {k: torch.from_numpy(v).to(handle.device) for k, v in arrays.items()}
            if handle.kind == "moirai-1" and cfg.seed >= 0:
                torch.manual_seed(cfg.seed)
            out = net(**kwargs).float().cpu().numpy()
        b = len(chunk)
        if handle.kind == "moirai-1":
            samples = out.reshape(b, cfg.num_samples, horizon, n_targets).transpose(1, 0, 3, 2)  # (S, B, V, H)
            return samples.mean(axis=0), from_samples(samples, levels, axis=0)
        native = list(handle.module.quantile_levels)
        grid = out.reshape(b, len(native), horizon, n_targets).transpose(1, 0, 3, 2)  # (Qn, B, V, H)
        median = interpolate(native, grid, [0.5])[0]
        return median, interpolate(native, grid, levels)


def create_adapter() -> Uni2tsAdapter:
    return Uni2tsAdapter()
