"""The Toto adapter: Datadog's ``toto-ts`` behind the tollama worker protocol.

Loading goes through ``Toto.load_from_checkpoint`` (strict about missing keys) and is then
checked for the one thing it is silent about: tensors in the file that the model does not use
(the loader filters them out before its strict ``load_state_dict``). ``Toto.from_pretrained``
is never used: it loads non-strictly.

Forecasting goes through ``TotoForecaster.forecast`` with a ``MaskedTimeseries`` per call.
With ``num_samples > 0`` (default 256) every series is decoded in its own call under its own
seeded RNG, so a series' forecast does not depend on what else was in the batch; the sample
paths of one series are the batch dimension. With ``num_samples = 0`` (mean decoding, no RNG)
series of the same shape are stacked into one call.
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
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
from tollama_kit.quantiles import from_samples

from tollama_toto.inputs import FAMILY, MAX_HORIZON, Prepared, prepare
from tollama_toto.options import TotoOptions

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
KV_BUDGET_BYTES = 2 * 1024**3
"""Upper bound for the key/value cache of one decoding call (it dominates memory: it grows with
sample paths x variates x patches). 2 GiB keeps a request well inside a 24 GiB CPU machine."""

# xFormers' fused SwiGLU names the feed-forward weights differently; the loader maps either way.
_SWIGLU_ALIASES = {".mlp.0.w12.": ".mlp.0.", ".mlp.0.w3.": ".mlp.2."}


def _upstream() -> Any:
    """Import toto lazily (it pulls in gluonts and lightning: seconds) and quietly: its import-time
    notices (no xFormers, pkg_resources deprecations, gluonts' json hint) are not actionable."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import toto.model.toto as model
        from toto.data.util import dataset
        from toto.inference import forecaster
    return dataset, forecaster, model


def canonical_key(key: str) -> str:
    for fused, plain in _SWIGLU_ALIASES.items():
        key = key.replace(fused, plain)
    return key


def check_every_tensor_used(model: Any, weights: Path) -> None:
    """Refuse a checkpoint whose tensors the model does not all take (or that lacks some)."""
    from safetensors import safe_open

    with safe_open(str(weights), framework="pt") as fh:
        in_file = {canonical_key(k) for k in fh.keys() if not k.endswith("rotary_emb.freqs")}  # noqa: SIM118
    in_model = {canonical_key(k) for k in model.state_dict()}
    unused, missing = sorted(in_file - in_model), sorted(in_model - in_file)
    if unused or missing:
        raise LoadFailed(
            f"{weights} does not match the model built from its config.json: "
            f"unused tensors {unused[:5]}{'...' if len(unused) > 5 else ''}, "
            f"missing tensors {missing[:5]}{'...' if len(missing) > 5 else ''}"
        )


@dataclass
class _Handle:
    model: Any
    forecaster: Any
    device: str
    patch_size: int
    kv_bytes_per_token: int


class TotoAdapter:
    family = FAMILY

    def describe(self) -> dict[str, str]:
        return library_versions("toto-ts", "torch", "numpy")

    def load(self, name: str, path: str, device: str, options: Options) -> Loaded:
        root = Path(path)
        require_files(name, root, (CONFIG_FILE, WEIGHTS_FILE), "a Toto checkpoint is config.json + model.safetensors")
        _, forecaster_mod, model_mod = _upstream()
        model = model_mod.Toto.load_from_checkpoint(str(root), map_location=device, strict=True)
        check_every_tensor_used(model, root / WEIGHTS_FILE)
        model.eval()
        backbone = model.model
        element = next(backbone.parameters()).element_size()
        handle = _Handle(
            model=model,
            forecaster=forecaster_mod.TotoForecaster(backbone),
            device=device,
            patch_size=int(backbone.patch_embed.stride),
            kv_bytes_per_token=2 * int(backbone.num_layers) * int(backbone.embed_dim) * element,
        )
        return Loaded(handle=handle, device=device, memory_bytes=module_bytes(model))

    def unload(self, loaded: Loaded) -> None:
        loaded.handle = None

    # -- forecasting ------------------------------------------------------------------------
    def forecast(self, loaded: Loaded, batch: ForecastInput) -> ForecastOutput:
        handle: _Handle = loaded.handle
        if batch.horizon > MAX_HORIZON:
            raise BadInput(f"{FAMILY}: horizon {batch.horizon} exceeds the adapter's maximum {MAX_HORIZON}")
        opts = parse_options(batch.options, TotoOptions)
        notes = Notes()
        prepared = [prepare(s, batch.horizon, opts, notes) for s in batch.series]
        if opts.num_samples == 0:
            notes.add(f"{FAMILY}: num_samples=0 decodes the mean only; every quantile equals the mean")
            means = self._mean_only(handle, prepared, batch.horizon)
            outputs = [
                SeriesOutput(id=s.id, mean=m, quantiles=np.repeat(m[None], len(batch.quantiles), axis=0))
                for s, m in zip(batch.series, means, strict=True)
            ]
        else:
            outputs = []
            for s, p in zip(batch.series, prepared, strict=True):
                mean, samples = self._sampled(handle, p, batch.horizon, opts)
                outputs.append(
                    SeriesOutput(id=s.id, mean=mean, quantiles=from_samples(samples, batch.quantiles, axis=-1))
                )
        return ForecastOutput(series=outputs, warnings=notes.items)

    def _patches(self, handle: _Handle, p: Prepared, horizon: int) -> int:
        return math.ceil(p.values.shape[1] / handle.patch_size) + math.ceil(horizon / handle.patch_size)

    def _samples_per_batch(self, handle: _Handle, p: Prepared, horizon: int, opts: TotoOptions) -> int:
        if opts.samples_per_batch is not None:
            return opts.samples_per_batch
        per_path = p.values.shape[0] * self._patches(handle, p, horizon) * handle.kv_bytes_per_token
        fit = max(1, KV_BUDGET_BYTES // per_path)
        return max(d for d in range(1, opts.num_samples + 1) if opts.num_samples % d == 0 and d <= fit)

    def _masked(self, handle: _Handle, group: list[Prepared]) -> tuple[Any, Any]:
        import torch

        dataset, _, _ = _upstream()
        values = torch.from_numpy(np.stack([p.values for p in group])).to(handle.device)
        observed = torch.from_numpy(np.stack([p.observed for p in group])).to(handle.device)
        future = None
        if group[0].n_exogenous:
            future = torch.from_numpy(np.stack([p.future for p in group])).to(handle.device)  # type: ignore[misc]
        masked = dataset.MaskedTimeseries(
            series=values,
            padding_mask=observed,
            id_mask=torch.zeros_like(values, dtype=torch.int),
            # Toto's backbone does not read timestamps; the forecaster only extends them.
            timestamp_seconds=torch.zeros_like(values, dtype=torch.int),
            time_interval_seconds=torch.ones(values.shape[:2], dtype=torch.int, device=values.device),
            num_exogenous_variables=group[0].n_exogenous,
        )
        return masked, future

    def _sampled(self, handle: _Handle, p: Prepared, horizon: int, opts: TotoOptions) -> tuple[np.ndarray, np.ndarray]:
        import torch

        masked, future = self._masked(handle, [p])
        devices = [torch.device(handle.device).index or 0] if handle.device.startswith("cuda") else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(opts.seed)
            out = handle.forecaster.forecast(
                masked,
                prediction_length=horizon,
                num_samples=opts.num_samples,
                samples_per_batch=self._samples_per_batch(handle, p, horizon, opts),
                use_kv_cache=True,
                future_exogenous_variables=future,
            )
        mean = out.mean[0, : p.n_targets].float().cpu().numpy()
        samples = out.samples[0, : p.n_targets].float().cpu().numpy()  # (targets, horizon, samples)
        return mean, samples

    def _mean_only(self, handle: _Handle, prepared: list[Prepared], horizon: int) -> list[np.ndarray]:
        groups: dict[tuple[int, int, int], list[int]] = defaultdict(list)
        for i, p in enumerate(prepared):
            groups[p.shape_key].append(i)
        means: list[np.ndarray | None] = [None] * len(prepared)
        for indices in groups.values():
            first = prepared[indices[0]]
            per_row = first.values.shape[0] * self._patches(handle, first, horizon) * handle.kv_bytes_per_token
            rows = max(1, KV_BUDGET_BYTES // per_row)
            for at in range(0, len(indices), rows):
                chunk = indices[at : at + rows]
                masked, future = self._masked(handle, [prepared[i] for i in chunk])
                out = handle.forecaster.forecast(
                    masked,
                    prediction_length=horizon,
                    num_samples=None,
                    use_kv_cache=True,
                    future_exogenous_variables=future,
                )
                mean = out.mean.float().cpu().numpy()
                for row, i in enumerate(chunk):
                    means[i] = mean[row, : prepared[i].n_targets]
        return [m for m in means if m is not None]


def create_adapter() -> TotoAdapter:
    return TotoAdapter()
