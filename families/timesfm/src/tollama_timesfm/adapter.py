"""The TimesFM 2.5 adapter: ``timesfm`` 3.0.2 (PyTorch backend) behind the tollama worker kit.

- Load: ``TimesFM_2p5_200M_torch.from_pretrained(dir, torch_compile=False)`` (the public
  loader; strict safetensors load), then the module is placed on the worker's device.
- Forecast: ``compile(ForecastConfig(...))`` per distinct need (context, horizon, batch size,
  flags; compile only stores the config, so it is cheap and re-done only when the need
  changes), then ``forecast(horizon, inputs=[1-D arrays])``: index 0 of the last axis is the
  mean, 1..9 are the quantiles 0.1..0.9. Other levels are interpolated (with a warning).
- Covariates: future-known (numeric and categorical) through
  ``forecast_with_covariates`` (XReg in-context linear regression), one series at a time so
  a forecast never depends on the requests it was fused with. Past-only and static
  covariates cannot be used that way; the catalogue entry declares neither, so the gateway
  drops or refuses them, and any that still reach the worker are refused.
- Several target variates are forecast independently (one univariate task each).
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tollama_kit.adapter import ForecastInput, ForecastOutput, Loaded, Options, SeriesInput, SeriesOutput
from tollama_kit.devices import module_bytes
from tollama_kit.errors import BadInput, LoadFailed, Unsupported
from tollama_kit.quantiles import interpolate, interpolation_warning

from tollama_timesfm.options import (
    CONTEXT_LIMIT,
    INPUT_PATCH,
    MAX_HORIZON,
    OUTPUT_PATCH,
    Settings,
    round_up,
)

FAMILY = "timesfm"
NATIVE_LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
WEIGHTS_FILE = "model.safetensors"


@dataclass
class _Handle:
    model: Any
    config: Any = None
    """The ForecastConfig the model was last compiled with (None: never)."""


@dataclass
class _Task:
    """One univariate forecast: a target row and the covariates that go with it."""

    series: int
    row: int
    values: np.ndarray
    numeric: dict[str, np.ndarray] = field(default_factory=dict)
    categorical: dict[str, list[str]] = field(default_factory=dict)


class TimesFMAdapter:
    family = FAMILY

    def describe(self) -> dict[str, str]:
        versions = {}
        for dist in ("timesfm", "torch", "jax", "scikit-learn", "numpy"):
            try:
                versions[dist] = importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                continue
        return versions

    # -- load / unload -------------------------------------------------------------------
    def load(self, name: str, path: str, device: str, options: Options) -> Loaded:
        import timesfm
        import torch

        if not (Path(path) / WEIGHTS_FILE).is_file():
            raise LoadFailed(f"{name}: no {WEIGHTS_FILE} in {path}")
        model = timesfm.TimesFM_2p5_200M_torch.from_pretrained(path, torch_compile=False, local_files_only=True)
        # The library picks cuda:0 when a GPU is visible and has no device argument: place
        # the module on the device the worker resolved (its forecast moves inputs there).
        module = model.model
        module.device = torch.device(device)
        module.device_count = 1
        module.to(module.device)
        module.eval()
        return Loaded(handle=_Handle(model=model), device=device, memory_bytes=module_bytes(module))

    def unload(self, loaded: Loaded) -> None:
        loaded.handle.model = None
        loaded.handle.config = None

    # -- forecast ------------------------------------------------------------------------
    def forecast(self, loaded: Loaded, batch: ForecastInput) -> ForecastOutput:
        handle: _Handle = loaded.handle
        if handle.model is None:
            raise BadInput("the model was unloaded")
        settings = Settings.from_options(batch.options)
        horizon = batch.horizon
        if not 1 <= horizon <= MAX_HORIZON:
            raise BadInput(f"horizon must be between 1 and {MAX_HORIZON} for TimesFM 2.5, got {horizon}")
        warnings: list[str] = []
        context = min(settings.context_length, CONTEXT_LIMIT - round_up(horizon, OUTPUT_PATCH))
        if context < settings.context_length:
            warnings.append(
                f"timesfm: context_length {settings.context_length} + horizon {horizon} exceed the model's "
                f"{CONTEXT_LIMIT}-step window; the last {context} points were used"
            )
        tasks = [t for i, s in enumerate(batch.series) for t in _tasks(i, s, horizon, context, settings, warnings)]

        n_levels = len(NATIVE_LEVELS) + 1
        full = np.empty((len(tasks), horizon, n_levels), dtype=np.float32)
        plain = [k for k, t in enumerate(tasks) if not (t.numeric or t.categorical)]
        if plain:
            full[plain] = self._forecast_plain(handle, [tasks[k].values for k in plain], horizon, settings)
        for k, task in enumerate(tasks):
            if task.numeric or task.categorical:
                full[k] = self._forecast_xreg(handle, task, horizon, settings)

        note = interpolation_warning(FAMILY, NATIVE_LEVELS, batch.quantiles)
        if note:
            warnings.append(note)
        out = []
        offset = 0
        for s in batch.series:
            block = full[offset : offset + s.n_targets]  # (n_targets, H, 10)
            offset += s.n_targets
            native = np.moveaxis(block[..., 1:], -1, 0)  # (9, n_targets, H)
            quantiles = interpolate(NATIVE_LEVELS, native, batch.quantiles)
            out.append(SeriesOutput(id=s.id, mean=block[..., 0].copy(), quantiles=quantiles.astype(np.float32)))
        return ForecastOutput(series=out, warnings=list(dict.fromkeys(warnings)))

    def _compile(self, handle: _Handle, **kw: Any) -> None:
        import timesfm

        config = timesfm.ForecastConfig(**kw)
        if config != handle.config:
            handle.model.compile(config)
            handle.config = config

    def _flags(self, settings: Settings) -> dict[str, bool]:
        return {
            "normalize_inputs": settings.normalize_inputs,
            "use_continuous_quantile_head": settings.use_continuous_quantile_head,
            "force_flip_invariance": settings.force_flip_invariance,
            "infer_is_positive": settings.infer_is_positive,
            "fix_quantile_crossing": settings.fix_quantile_crossing,
        }

    def _forecast_plain(
        self, handle: _Handle, values: list[np.ndarray], horizon: int, settings: Settings
    ) -> np.ndarray:
        longest = max(len(v) for v in values)
        self._compile(
            handle,
            max_context=round_up(longest, INPUT_PATCH),
            max_horizon=horizon,
            per_core_batch_size=min(len(values), settings.batch_size),
            **self._flags(settings),
        )
        # forecast() pads the list it is given in place: hand it a copy.
        _, quantiles = handle.model.forecast(horizon=horizon, inputs=list(values))
        return np.asarray(quantiles, dtype=np.float32)[:, :horizon, :]

    def _forecast_xreg(self, handle: _Handle, task: _Task, horizon: int, settings: Settings) -> np.ndarray:
        self._compile(
            handle,
            max_context=round_up(len(task.values), INPUT_PATCH),
            max_horizon=horizon,
            per_core_batch_size=1,
            return_backcast=True,
            **self._flags(settings),
        )
        _, quantiles = handle.model.forecast_with_covariates(
            inputs=[task.values],
            dynamic_numerical_covariates={k: [v] for k, v in task.numeric.items()} or None,
            dynamic_categorical_covariates={k: [v] for k, v in task.categorical.items()} or None,
            xreg_mode=settings.xreg_mode,
            ridge=settings.ridge,
            normalize_xreg_target_per_input=settings.normalize_xreg_target_per_input,
            force_on_cpu=True,
        )
        return np.asarray(quantiles[0], dtype=np.float32)[:horizon]


def _tasks(
    index: int, s: SeriesInput, horizon: int, context: int, settings: Settings, warnings: list[str]
) -> list[_Task]:
    numeric, categorical = _usable_covariates(s)
    n = min(s.length, context)
    tasks = []
    for row in range(s.n_targets):
        y = np.asarray(s.target[row, s.length - n :], dtype=np.float64)
        observed = np.flatnonzero(~np.isnan(y))
        if observed.size == 0:
            raise BadInput(f"series {s.id!r}: target {row} has no observed value in the last {n} points")
        if not numeric and not categorical:
            # The library strips leading NaNs and interpolates the rest itself.
            tasks.append(_Task(index, row, y))
            continue
        # XReg regresses on the raw context: drop leading gaps, interpolate inner ones.
        first = int(observed[0])
        y = y[first:]
        gaps = np.isnan(y)
        if gaps.any():
            y[gaps] = np.interp(np.flatnonzero(gaps), np.flatnonzero(~gaps), y[~gaps])
        start = s.length - n + first
        tasks.append(
            _Task(
                index,
                row,
                y,
                numeric={k: v[start:].astype(np.float64) for k, v in numeric.items()},
                categorical={k: [str(x) for x in v[start:]] for k, v in categorical.items()},
            )
        )
    return tasks


def _usable_covariates(s: SeriesInput) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    unusable = [
        (kind, name) for kind, names in (("past", s.past_covariates), ("static", s.static_covariates)) for name in names
    ]
    if unusable:
        listed = ", ".join(f"{kind} covariate {name!r}" for kind, name in unusable)
        reason = (
            "TimesFM 2.5 uses only covariates known over the horizon (future_covariates); "
            "static covariates need a regression across series, which tollama does not do"
        )
        raise Unsupported(f"series {s.id!r}: {listed} cannot be used: {reason}")
    numeric: dict[str, np.ndarray] = {}
    categorical: dict[str, np.ndarray] = {}
    for name, values in s.future_covariates.items():
        if values.dtype == object:
            categorical[name] = values
            continue
        if not np.isfinite(values).all():
            raise BadInput(f"series {s.id!r}: future covariate {name!r} has missing values")
        numeric[name] = values
    return numeric, categorical


def create_adapter() -> TimesFMAdapter:
    return TimesFMAdapter()
