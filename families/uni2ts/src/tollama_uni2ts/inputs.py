"""From validated requests to the tensors ``MoiraiForecast``/``Moirai2Forecast.forward`` take.

Layout (the one uni2ts' own GluonTS ``TFTInstanceSplitter`` produces, so the tensor path
equals the predictor path): arrays are right-aligned on the last observation and padded
on the left with 0 (``past_is_pad`` = 1, observed = False). Known-future covariates span
the look-back plus the horizon.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from tollama_kit.adapter import Options, SeriesInput
from tollama_kit.errors import BadInput
from tollama_kit.notes import refuse_unusable
from tollama_kit.options import parse_options

from tollama_uni2ts.catalog import Spec
from tollama_uni2ts.options import Uni2tsOptions


@dataclass(frozen=True)
class Settings:
    """The options one forecast call runs with (validated)."""

    context_length: int
    patch_size: int | str
    num_samples: int
    seed: int
    batch_size: int


def settings(options: Options, spec: Spec, patch_sizes: Sequence[int]) -> Settings:
    opts = parse_options(options, Uni2tsOptions)
    patch = opts.patch_size if spec.kind == "moirai-1" else "auto"
    if patch != "auto" and patch not in patch_sizes:
        raise BadInput(f"option 'patch_size' must be 'auto' or one of {list(patch_sizes)}, got {patch!r}")
    return Settings(
        context_length=min(opts.context_length or spec.default_context, spec.max_context),
        patch_size=patch,
        num_samples=opts.num_samples,
        seed=opts.seed,
        batch_size=opts.batch_size,
    )


@dataclass
class Prepared:
    """One series cut to its look-back: target (V, W), future (F, W+H), past (P, W)."""

    index: int
    target: np.ndarray
    future: np.ndarray
    past: np.ndarray

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.target.shape[0], self.future.shape[0], self.past.shape[0])

    @property
    def window(self) -> int:
        return int(self.target.shape[1])


@dataclass
class Preparation:
    series: list[Prepared] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _numeric(covariates: dict[str, np.ndarray], what: str, sid: str) -> list[np.ndarray]:
    """Moirai takes numeric covariates only (its models declare no categorical ones, so the gateway
    drops or refuses those): one that still arrives is refused."""
    refuse_unusable("uni2ts", f"Moirai (series {sid!r})", f"categorical {what} covariates",
                    [name for name, values in covariates.items() if values.dtype == object])
    return [np.asarray(values, dtype=np.float32) for values in covariates.values()]


def prepare(series: list[SeriesInput], horizon: int, cfg: Settings) -> Preparation:
    """Cut every series to its look-back and sort out what the model can use."""
    out = Preparation()
    notes: set[str] = set()
    for index, s in enumerate(series):
        refuse_unusable("uni2ts", f"Moirai (series {s.id!r})", "static covariates", list(s.static_covariates))
        future = _numeric(s.future_covariates, "future", s.id)
        past = _numeric(s.past_covariates, "past", s.id)
        length = s.length
        window = min(length, cfg.context_length)
        target = s.target[:, length - window :]
        if np.isnan(target).all(axis=1).any():
            raise BadInput(f"series {s.id!r}: a target has no observed value in the last {window} points")
        cut = length - window
        out.series.append(
            Prepared(
                index=index,
                target=target,
                future=np.stack([f[cut:] for f in future]) if future else np.zeros((0, window + horizon), np.float32),
                past=np.stack([p[cut:] for p in past]) if past else np.zeros((0, window), np.float32),
            )
        )
    out.warnings = sorted(notes)
    return out


def _causal_mean(values: np.ndarray) -> np.ndarray:
    from gluonts.transform.feature import CausalMeanValueImputation

    with np.errstate(invalid="ignore", divide="ignore"):  # upstream divides 0/0 at index 0, then overwrites it
        return np.asarray(CausalMeanValueImputation()(values.copy()), dtype=np.float32)


def _place(rows: list[np.ndarray], width: int, impute_causal: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Right-align (C_i, L_i) arrays into (B, width, C) values and observed masks."""
    channels = rows[0].shape[0]
    values = np.zeros((len(rows), width, channels), dtype=np.float32)
    observed = np.zeros((len(rows), width, channels), dtype=bool)
    for b, row in enumerate(rows):
        mask = ~np.isnan(row)
        filled = _causal_mean(row[0])[None, :] if impute_causal else np.where(mask, row, 0.0)
        n = row.shape[1]
        values[b, width - n :, :] = filled.T
        observed[b, width - n :, :] = mask.T
    return values, observed


def tensors(
    chunk: list[Prepared], horizon: int, past_length: int, *, causal_impute_target: bool
) -> dict[str, np.ndarray]:
    """The keyword arrays of ``forward`` for a chunk of same-shaped series.

    ``past_length`` is the window the network reads (look-back, plus the horizon held out
    for patch-size selection under Moirai 1.x ``patch_size='auto'``).
    """
    arrays: dict[str, np.ndarray] = {}
    target, observed = _place([p.target for p in chunk], past_length, causal_impute_target)
    arrays["past_target"], arrays["past_observed_target"] = target, observed
    is_pad = np.ones((len(chunk), past_length), dtype=np.float32)
    for b, p in enumerate(chunk):
        is_pad[b, past_length - p.window :] = 0.0
    arrays["past_is_pad"] = is_pad
    if chunk[0].future.shape[0]:
        values, mask = _place([p.future for p in chunk], past_length + horizon)
        arrays["feat_dynamic_real"], arrays["observed_feat_dynamic_real"] = values, mask
    if chunk[0].past.shape[0]:
        values, mask = _place([p.past for p in chunk], past_length)
        arrays["past_feat_dynamic_real"], arrays["past_observed_feat_dynamic_real"] = values, mask
    return arrays
