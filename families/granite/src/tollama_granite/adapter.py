"""The granite family adapter: IBM Granite time-series models through granite-tsfm 0.3.11.

``load`` dispatches on the checkpoint's ``config.json`` ``model_type``: ``flowstate`` (FlowState,
:mod:`tollama_granite.flowstate`), ``patchtst_fm`` (PatchTST-FM, :mod:`tollama_granite.patchtst_fm`),
otherwise TinyTimeMixer (this module). Each is loaded through its library class's ``from_pretrained``.

Flow of one TinyTimeMixer ``forecast`` call:

* the horizon must fit the loaded variant's prediction length (else ``BadInput``);
* covariates the model cannot use (static, categorical; its entries declare neither, so the gateway
  drops or refuses them) are refused when they still arrive;
* series without covariates go through one batched tensor forward pass (channels are independent
  in TinyTimeMixer, so every target variate of every series is one row), together with the
  calibration windows their conformal quantiles need;
* series with numeric covariates go through granite-tsfm's ``TimeSeriesPreprocessor`` +
  ``TimeSeriesForecastingPipeline`` one at a time (see :mod:`tollama_granite.exogenous`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import numpy as np
from tollama_kit.adapter import ForecastInput, ForecastOutput, Loaded, Options, SeriesInput, SeriesOutput
from tollama_kit.devices import module_bytes
from tollama_kit.errors import BadInput, LoadFailed, Unsupported
from tollama_kit.onnx_cache import BackendChoice

from tollama_granite import exogenous, flowstate, onnx_ttm, patchtst_fm
from tollama_granite.conformal import SCORES, conformal_quantiles, required_windows
from tollama_granite.options import GraniteOptions, parse_options, wire_options
from tollama_granite.variants import expected_shape
from tollama_granite.windows import context_windows, impute

FAMILY = "granite"


@dataclass
class Handle:
    model: Any
    path: str
    name: str
    device: str
    context_length: int
    prediction_length: int
    prefix_tuning: bool
    exogenous_models: dict[exogenous.Layout, Any] = field(default_factory=dict)
    onnx: onnx_ttm.OnnxState = field(default_factory=onnx_ttm.OnnxState)


@dataclass
class _Plan:
    """One series after covariate triage: numeric covariates kept, in a stable order."""

    series: SeriesInput
    control: list[np.ndarray]
    conditional: list[np.ndarray]


def _quiet_libraries() -> None:
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    logging.getLogger("tsfm_public").setLevel(logging.WARNING)


def _model_type(path: str) -> str:
    """The checkpoint's ``model_type`` (``config.json``, as ``from_pretrained`` reads it)."""
    from pathlib import Path

    config = Path(path) / "config.json"
    try:
        return str(json.loads(config.read_text()).get("model_type", ""))
    except (OSError, ValueError) as exc:
        raise LoadFailed(f"cannot read {config}: {exc}") from exc


class GraniteAdapter:
    family = FAMILY

    def describe(self) -> dict[str, str]:
        return {pkg: metadata.version(pkg) for pkg in ("granite-tsfm", "transformers", "torch")}

    # -- load / unload ----------------------------------------------------------------------
    def load(self, name: str, path: str, device: str, options: Options) -> Loaded:
        _quiet_libraries()
        kind = _model_type(path)
        if kind in (flowstate.MODEL_TYPE, patchtst_fm.MODEL_TYPE):
            other = flowstate.load(name, path, device) if kind == flowstate.MODEL_TYPE else patchtst_fm.load(name, path, device)
            return Loaded(handle=other, device=device, memory_bytes=module_bytes(other.model))
        return self._load_ttm(name, path, device, options)

    def _load_ttm(self, name: str, path: str, device: str, options: Options) -> Loaded:
        from tsfm_public import TinyTimeMixerConfig, TinyTimeMixerForPrediction

        config = TinyTimeMixerConfig.from_pretrained(path)
        promised = expected_shape(name)
        actual = (int(config.context_length), int(config.prediction_length))
        if promised is not None and promised != actual:
            raise LoadFailed(
                f"{name} should be a {promised[0]}-{promised[1]} TinyTimeMixer, but the checkpoint in {path} is "
                f"{actual[0]}-{actual[1]} (context-prediction length): wrong hub revision in the store?"
            )
        # Loaded at its full prediction length; a shorter horizon takes the first steps, which is
        # exactly what from_pretrained(..., prediction_filter_length=H) computes (tests check it).
        model = TinyTimeMixerForPrediction.from_pretrained(path).to(device).eval()
        handle = Handle(
            model=model,
            path=path,
            name=name,
            device=device,
            context_length=actual[0],
            prediction_length=actual[1],
            prefix_tuning=bool(getattr(config, "resolution_prefix_tuning", False)),
        )
        handle.onnx = onnx_ttm.prepare(model, path, device, handle.prefix_tuning, options)
        return Loaded(handle=handle, device=device, memory_bytes=module_bytes(model))

    def unload(self, loaded: Loaded) -> None:
        handle = loaded.handle
        if isinstance(handle, Handle):
            handle.exogenous_models.clear()
        handle.model = None

    # -- forecast ---------------------------------------------------------------------------
    def forecast(self, loaded: Loaded, batch: ForecastInput) -> ForecastOutput:
        backend: BackendChoice = wire_options(batch.options)
        if not isinstance(loaded.handle, Handle) and (backend.backend == "onnx" or backend.precision == "int8"):
            raise Unsupported("granite: the ONNX path (backend onnx, precision int8) serves TinyTimeMixer only")
        if isinstance(loaded.handle, flowstate.FlowStateHandle):
            return flowstate.forecast(loaded.handle, batch)
        if isinstance(loaded.handle, patchtst_fm.PatchTSTFMHandle):
            return patchtst_fm.forecast(loaded.handle, batch)
        handle: Handle = loaded.handle
        opts = parse_options(batch.options, handle.context_length)
        if batch.horizon > handle.prediction_length:
            raise BadInput(
                f"{handle.name} forecasts at most {handle.prediction_length} steps (its prediction length); "
                f"horizon {batch.horizon} requested: use a granite-ttm-r2 variant with a longer horizon"
            )
        warnings: list[str] = []
        plans = [self._triage(s, opts) for s in batch.series]
        outputs: dict[int, SeriesOutput] = {}
        plain = [i for i, p in enumerate(plans) if not p.control and not p.conditional]
        if plain:
            for i, out in zip(
                plain,
                self._forecast_plain(handle, batch, [plans[i] for i in plain], opts, warnings, backend),
                strict=True,
            ):
                outputs[i] = out
        mixed = [i for i in range(len(plans)) if i not in outputs]
        if mixed:
            warnings.append(exogenous.EXOGENOUS_WARNING)
            for i in mixed:
                outputs[i] = self._forecast_exogenous(handle, batch, plans[i], opts, warnings)
        return ForecastOutput(series=[outputs[i] for i in range(len(plans))], warnings=list(dict.fromkeys(warnings)))

    def _triage(self, s: SeriesInput, opts: GraniteOptions) -> _Plan:
        refused: list[str] = []
        if s.static_covariates:
            refused.append(f"static covariates {sorted(s.static_covariates)} (TinyTimeMixer has no static input)")
        control, conditional = [], []
        categorical = []
        for kind, covs, keep in (("future", s.future_covariates, control), ("past", s.past_covariates, conditional)):
            for key in sorted(covs):
                values = covs[key]
                if values.dtype == object:
                    categorical.append(f"{kind}:{key}")
                    continue
                keep.append(impute(values, opts.impute, f"series {s.id!r} {kind} covariate {key!r}")[0])
        if categorical:
            refused.append(f"categorical covariates {categorical} (only numeric covariates are supported)")
        if refused:
            raise Unsupported(f"granite: series {s.id!r}: " + "; ".join(refused) + " cannot be used; the gateway drops or "
                              "refuses them by the model's capabilities (options.covariates_mode)")
        return _Plan(series=s, control=control, conditional=conditional)

    # -- no covariates: one batched tensor pass -------------------------------------------
    def _forecast_plain(
        self, handle: Handle, batch: ForecastInput, plans: list[_Plan], opts: GraniteOptions, warnings: list[str],
        backend: BackendChoice,
    ) -> list[SeriesOutput]:
        horizon, width = batch.horizon, opts.context_length
        need = required_windows(batch.quantiles, opts.conformal_score) if batch.quantiles else 0
        blocks_v, blocks_m, spans = [], [], []  # per series: (first window, n_calibration, filled targets)
        offset = 0
        for plan in plans:
            s = plan.series
            filled = [impute(s.target[c], opts.impute, f"series {s.id!r} target {c}") for c in range(s.n_targets)]
            last = s.length - horizon  # the latest calibration origin
            n_cal = 0
            if need and opts.calibration_windows:
                first = max(opts.min_calibration_context, last - opts.calibration_windows + 1)
                n_cal = max(0, last - first + 1)
            # origin 0 is the forecast itself, then the calibration origins, for every target variate
            cuts = np.concatenate([[s.length], np.arange(last - n_cal + 1, last + 1)]).astype(np.int64)
            for values, mask in filled:
                v, m = context_windows(values, mask, cuts, width, width)
                blocks_v.append(v)
                blocks_m.append(m)
            spans.append((offset, n_cal, [f for f, _ in filled]))
            offset += s.n_targets * (1 + n_cal)
        preds = self._run_tensor(
            handle, np.concatenate(blocks_v), np.concatenate(blocks_m), batch.freq, opts.batch_size, backend
        )[:, :horizon]
        out = []
        short = []
        for plan, (start, n_cal, series_values) in zip(plans, spans, strict=True):
            s = plan.series
            block = preds[start : start + s.n_targets * (1 + n_cal)].reshape(s.n_targets, 1 + n_cal, horizon)
            mean = block[:, 0, :]
            if not batch.quantiles:
                q = np.zeros((0, s.n_targets, horizon), np.float32)
            elif n_cal >= need:
                cal_pred = np.transpose(block[:, 1:, :], (1, 2, 0))  # (N, H, C)
                origins = np.arange(s.length - horizon - n_cal + 1, s.length - horizon + 1)
                take = origins[:, None] + np.arange(horizon)[None, :]
                cal_true = np.stack([v[take] for v in series_values], axis=-1)  # (N, H, C)
                q = conformal_quantiles(cal_pred, cal_true, mean.T, batch.quantiles, opts.conformal_score)
            else:
                short.append(s.id)
                q = np.repeat(mean[None], len(batch.quantiles), axis=0)
            out.append(SeriesOutput(id=s.id, mean=mean.astype(np.float32), quantiles=q.astype(np.float32)))
        if short:
            warnings.append(self._short_warning(short, need, horizon))
        return out

    @staticmethod
    def _short_warning(ids: list[str], need: int, horizon: int) -> str:
        shown = ids[:10] + (["…"] if len(ids) > 10 else [])
        return (
            f"granite: TinyTimeMixer forecasts points only; series {shown} have too little history for conformal "
            f"quantiles ({need} calibration windows of {horizon} steps needed), so every quantile equals the mean"
        )

    def _run_tensor(
        self, handle: Handle, values: np.ndarray, mask: np.ndarray, freq: str | None, batch_size: int,
        backend: BackendChoice,
    ) -> np.ndarray:
        """``values``/``mask`` ``(windows, width)`` → forecasts ``(windows, prediction_length)``."""
        import torch

        n = values.shape[0]
        token = None
        if handle.prefix_tuning:
            from tsfm_public import TimeSeriesPreprocessor

            token = int(TimeSeriesPreprocessor().get_frequency_token(freq or "oov"))
            if token >= int(getattr(handle.model.config, "frequency_token_vocab_size", 0)):
                token = 0  # a resolution this checkpoint was not trained on: the out-of-vocabulary token
        session = onnx_ttm.select(handle.onnx, backend, handle.name, windows=n)
        if session is not None and handle.onnx.ttm is not None:
            return handle.onnx.ttm.run(session, values, mask, token, batch_size)
        flat_v = torch.from_numpy(np.ascontiguousarray(values)[:, :, None])
        flat_m = torch.from_numpy(np.ascontiguousarray(mask)[:, :, None])
        extra = {}
        if token is not None:
            extra["freq_token"] = torch.full((n,), token, dtype=torch.long)
        outs = []
        with torch.inference_mode():
            for start in range(0, n, batch_size):
                sl = slice(start, start + batch_size)
                kw = {k: v[sl].to(handle.device) for k, v in extra.items()}
                res = handle.model(
                    past_values=flat_v[sl].to(handle.device), past_observed_mask=flat_m[sl].to(handle.device), **kw
                )
                outs.append(res.prediction_outputs[..., 0].float().cpu().numpy())
        return np.concatenate(outs)

    # -- covariates: granite-tsfm's pipeline, one series at a time ------------------------
    def _forecast_exogenous(
        self, handle: Handle, batch: ForecastInput, plan: _Plan, opts: GraniteOptions, warnings: list[str]
    ) -> SeriesOutput:
        s, horizon = plan.series, batch.horizon
        layout = exogenous.Layout(s.n_targets, len(plan.control), len(plan.conditional), horizon, opts.seed)
        model = handle.exogenous_models.get(layout)
        if model is None:
            model = exogenous.load_exogenous_model(handle.path, layout, handle.context_length, handle.device)
            handle.exogenous_models[layout] = model
        target = np.stack(
            [impute(s.target[c], opts.impute, f"series {s.id!r} target {c}")[0] for c in range(s.n_targets)]
        )
        context = opts.context_length
        need = required_windows(batch.quantiles, opts.conformal_score) if batch.quantiles else 0
        n_cal = min(opts.calibration_windows, max(0, s.length - context - horizon + 1)) if need else 0
        # Trim so that the pipeline builds exactly the origins used: n_cal calibration ones + the last.
        keep = context + (n_cal + horizon - 1 if n_cal else 0)
        history, future = exogenous.frames(layout, target, plan.control, plan.conditional, keep)
        freq = (batch.freq or "oov") if handle.prefix_tuning else None
        pred, true = exogenous.run_pipeline(
            model, layout, history, future, context, handle.device, freq, opts.batch_size
        )
        mean = pred[-1].T  # (C, H)
        if not batch.quantiles:
            q = np.zeros((0, s.n_targets, horizon), np.float32)
        elif n_cal >= need:
            q = conformal_quantiles(pred[:n_cal], true[:n_cal], pred[-1], batch.quantiles, opts.conformal_score)
        else:
            warnings.append(self._short_warning([s.id], need, horizon))
            q = np.repeat(mean[None], len(batch.quantiles), axis=0)
        return SeriesOutput(id=s.id, mean=mean.astype(np.float32), quantiles=q.astype(np.float32))


def create_adapter() -> GraniteAdapter:
    return GraniteAdapter()


__all__ = ["SCORES", "GraniteAdapter", "create_adapter"]
