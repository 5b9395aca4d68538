"""The Sundial adapter: sktime's vendored ``SundialForPrediction`` behind the tollama worker kit.

Sundial (thuml) is a univariate generative model: ``generate(x (B, T), max_new_tokens=H,
num_samples=S)`` returns sample paths ``(B, S, H)``. The mean is the sample mean; quantiles are
empirical quantiles of the samples (any level can be served, none is interpolated).

Determinism: with the option ``seed`` >= 0 (default 0) every row is generated on its own right
after ``torch.manual_seed(seed)`` (inside ``torch.random.fork_rng``), so a series gets the same
forecast whatever it was batched with; that is also exactly what a direct upstream call after
``torch.manual_seed(seed)`` returns. With ``seed`` < 0 the RNG is left alone and rows of equal
length share one ``generate`` call of at most ``batch_size`` rows (faster, not reproducible).

torch, transformers and sktime are imported in ``load``, so that the worker answers
``/v1/health`` before the heavy imports finish.
"""

from __future__ import annotations

import json
from collections import defaultdict
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from tollama_kit.adapter import ForecastInput, ForecastOutput, Loaded, Options, SeriesOutput
from tollama_kit.devices import module_bytes
from tollama_kit.errors import BadInput, LoadFailed
from tollama_kit.quantiles import from_samples

from tollama_sundial.inputs import FAMILY, Settings, Unit, check_covariates, read_settings, to_units

#: Pre-training context of the released checkpoints (Sundial paper: context length 2880).
MAX_CONTEXT = {"sundial-base-128m": 2880}
DEFAULT_MAX_CONTEXT = 2880
#: Horizons up to ``output_token_lens[-1]`` take one generation step; longer ones roll out
#: autoregressively (the sample median is fed back) for at most this many steps.
MAX_ROLLOUT_STEPS = 4


class SundialAdapter:
    family = FAMILY

    def describe(self) -> dict[str, str]:
        versions = {}
        for dist in ("sktime", "transformers", "torch", "accelerate"):
            try:
                versions[dist] = metadata.version(dist)
            except metadata.PackageNotFoundError:
                continue
        return versions

    # -- load / unload ------------------------------------------------------------------
    def load(self, name: str, path: str, device: str, options: Options) -> Loaded:
        root = Path(path)
        config_file = root / "config.json"
        if not config_file.is_file():
            raise LoadFailed(f"{FAMILY}: {path!r} holds no config.json (expected the {name} hub snapshot)")
        model_type = json.loads(config_file.read_text()).get("model_type")
        if model_type != "sundial":
            raise LoadFailed(f"{FAMILY}: {path!r} holds a {model_type!r} checkpoint, not a Sundial one")

        import torch
        from sktime.libs.sundial import SundialForPrediction

        # The vendored model class reads the hub's config.json and model.safetensors; the
        # config's auto_map (remote code) is never consulted: no trust_remote_code.
        model = SundialForPrediction.from_pretrained(str(root), local_files_only=True)
        model = model.to(device).eval()
        handle = _Handle(model=model, torch=torch, max_context=MAX_CONTEXT.get(name, DEFAULT_MAX_CONTEXT))
        if options.get("warmup", True) not in (False, 0, "false", "0"):
            # The first generate() imports torch._dynamo (via transformers): pay it here, not in a request.
            with torch.random.fork_rng(devices=_rng_devices(device)):
                model.generate(torch.zeros(1, 32, device=device), max_new_tokens=1, num_samples=1)
        return Loaded(handle=handle, device=device, memory_bytes=module_bytes(model))

    def unload(self, loaded: Loaded) -> None:
        handle: _Handle = loaded.handle
        handle.model = None

    # -- forecast -----------------------------------------------------------------------
    def forecast(self, loaded: Loaded, batch: ForecastInput) -> ForecastOutput:
        handle: _Handle = loaded.handle
        if handle.model is None:
            raise BadInput(f"{FAMILY}: the model was unloaded")
        warnings: list[str] = []
        settings = read_settings(batch.options, handle.max_context, warnings)
        max_horizon = handle.output_token_len * MAX_ROLLOUT_STEPS
        if not 1 <= batch.horizon <= max_horizon:
            raise BadInput(f"{FAMILY}: horizon must be between 1 and {max_horizon}, got {batch.horizon}")
        check_covariates(batch.series)
        units = to_units(batch, settings, warnings)
        samples = self._sample(handle, units, batch.horizon, settings, loaded.device)
        if batch.horizon > handle.output_token_len:
            warnings.append(
                f"{FAMILY}: horizon {batch.horizon} exceeds one generation step ({handle.output_token_len}); "
                "the forecast was rolled out autoregressively from the sample median"
            )
        resolution = 1.0 / settings.num_samples
        coarse = [q for q in batch.quantiles if q < resolution or q > 1 - resolution]
        if coarse:
            warnings.append(
                f"{FAMILY}: quantile levels {coarse} lie beyond what {settings.num_samples} samples resolve; "
                "they are the sample extremes (raise num_samples for tail quantiles)"
            )
        return ForecastOutput(series=_assemble(batch, units, samples), warnings=warnings)

    def _sample(
        self, handle: _Handle, units: list[Unit], horizon: int, settings: Settings, device: str
    ) -> list[np.ndarray]:
        """Sample paths ``(num_samples, horizon)`` for every unit, in order."""
        torch = handle.torch
        model = handle.model
        out: list[np.ndarray | None] = [None] * len(units)

        def generate(rows: list[np.ndarray]) -> np.ndarray:
            x = torch.from_numpy(np.stack(rows)).to(device=device, dtype=model.dtype)
            result = model.generate(x, max_new_tokens=horizon, num_samples=settings.num_samples)
            return result.float().cpu().numpy()  # (B, S, H)

        if settings.seed is not None:
            for k, unit in enumerate(units):
                with torch.random.fork_rng(devices=_rng_devices(device)):
                    torch.manual_seed(settings.seed)
                    out[k] = generate([unit.values])[0]
            return out  # type: ignore[return-value]
        by_length: dict[int, list[int]] = defaultdict(list)
        for k, unit in enumerate(units):
            by_length[unit.values.size].append(k)
        for indices in by_length.values():
            for start in range(0, len(indices), settings.batch_size):
                chunk = indices[start : start + settings.batch_size]
                for k, paths in zip(chunk, generate([units[k].values for k in chunk]), strict=True):
                    out[k] = paths
        return out  # type: ignore[return-value]


class _Handle:
    def __init__(self, model: Any, torch: Any, max_context: int) -> None:
        self.model = model
        self.torch = torch
        self.max_context = max_context
        self.output_token_len = int(model.config.output_token_lens[-1])


def _rng_devices(device: str) -> list[int]:
    if device.startswith("cuda"):
        return [int(device.partition(":")[2] or 0)]
    return []


def _assemble(batch: ForecastInput, units: list[Unit], samples: list[np.ndarray]) -> list[SeriesOutput]:
    per_series: dict[int, list[np.ndarray]] = defaultdict(list)
    for unit, paths in zip(units, samples, strict=True):
        per_series[unit.series].append(paths)
    outputs = []
    for i, s in enumerate(batch.series):
        stacked = np.stack(per_series[i], axis=1)  # (S, n_targets, H)
        outputs.append(
            SeriesOutput(
                id=s.id,
                mean=stacked.mean(axis=0, dtype=np.float64).astype(np.float32),
                quantiles=from_samples(stacked, batch.quantiles, axis=0),
            )
        )
    return outputs


def create_adapter() -> SundialAdapter:
    return SundialAdapter()
