"""The three forecasting paths, one per pipeline class of chronos-forecasting.

Each runner takes prepared series and returns, per series, ``mean`` with shape
``(n_targets, H)`` and ``quantiles`` with shape ``(n_levels, n_targets, H)``.

- Chronos (T5), ``ChronosPipeline.predict`` -> sample paths; mean and quantiles come from
  the samples. Sampling is seeded per series, so a forecast does not depend on which other
  series share its batch.
- Chronos-Bolt, ``ChronosBoltPipeline.predict`` -> the 9 native quantiles (0.1..0.9).
- Chronos-2, ``Chronos2Pipeline.predict`` with its list-of-dicts input -> 21 native quantiles.

For the quantile models the mean is the native median (as upstream's ``predict_quantiles``
does), other levels are interpolated linearly on the native grid and clamped outside it, and
quantile crossing is repaired by sorting along the level axis.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
from tollama_kit.quantiles import from_samples, interpolate

from tollama_chronos.covariates import Prepared, is_categorical
from tollama_chronos.options import ForecastOptions

Result = tuple[np.ndarray, np.ndarray]  # mean (n_targets, H), quantiles (n_levels, n_targets, H)


@contextmanager
def upstream_warnings(sink: list[str]) -> Iterator[None]:
    """Collect the library's Python warnings into ``sink`` (they become forecast warnings)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        sink.append(f"chronos-forecasting: {w.message}")


def _rows(series: list[Prepared]) -> tuple[list[np.ndarray], list[tuple[int, int]]]:
    """Flatten the target variates of every series into univariate rows (T5 and Bolt)."""
    rows: list[np.ndarray] = []
    spans = []
    for s in series:
        spans.append((len(rows), len(rows) + s.n_targets))
        rows.extend(s.target[i] for i in range(s.n_targets))
    return rows, spans


def _split(values: np.ndarray, spans: list[tuple[int, int]], axis: int) -> list[np.ndarray]:
    return [np.take(values, range(a, b), axis=axis) for a, b in spans]


def _from_native(native: np.ndarray, levels: Sequence[float], wanted: Sequence[float]) -> Result:
    """``native`` (n, n_native, H) -> mean (n, H) = the median, quantiles (n_levels, n, H)."""
    median = native[:, list(levels).index(0.5), :]
    # tollama_kit.quantiles.interpolate sorts its output along the level axis (repairing crossing),
    # which also reorders it when the requested levels are not ascending: ask in ascending order
    # and put the result back into the requested order.
    order = np.argsort(np.asarray(wanted, dtype=np.float64), kind="stable")
    ascending = interpolate(levels, np.moveaxis(native, 1, 0), [wanted[i] for i in order])
    quantiles = np.empty_like(ascending)
    quantiles[order] = ascending
    return median.astype(np.float32), quantiles.astype(np.float32)


def run_bolt(
    pipeline: Any,
    series: list[Prepared],
    *,
    horizon: int,
    wanted: Sequence[float],
    opts: ForecastOptions,
    sink: list[str],
    predict: Callable[[list[np.ndarray], int], np.ndarray] | None = None,
) -> list[Result]:
    """``predict(rows, horizon) -> (n_rows, n_native, horizon)``: the ONNX path; default the pipeline's."""
    import torch

    if predict is None:

        def predict(chunk: list[np.ndarray], horizon: int) -> np.ndarray:
            return np.asarray(pipeline.predict([torch.from_numpy(r) for r in chunk], prediction_length=horizon).numpy())

    rows, spans = _rows(series)
    per_call = opts.batch_size
    if horizon > pipeline.model_prediction_length:
        # Past the trained horizon the library feeds each of its quantiles back in: the forward
        # pass then carries rows x n_quantiles contexts, so shrink the chunk to match.
        per_call = max(1, per_call // len(pipeline.quantiles))
    native = []
    for start in range(0, len(rows), per_call):
        with upstream_warnings(sink):
            native.append(predict(rows[start : start + per_call], horizon))
    mean, quantiles = _from_native(np.concatenate(native), pipeline.quantiles, wanted)
    return list(zip(_split(mean, spans, 0), _split(quantiles, spans, 1), strict=True))


def run_t5(
    pipeline: Any,
    series: list[Prepared],
    *,
    horizon: int,
    wanted: Sequence[float],
    opts: ForecastOptions,
    sink: list[str],
) -> list[Result]:
    import torch

    rows, spans = _rows(series)
    sample_kw = {"num_samples": None, "temperature": opts.temperature, "top_k": opts.top_k, "top_p": opts.top_p}

    def draw(chunk: list[np.ndarray], n: int) -> np.ndarray:
        with upstream_warnings(sink):
            out = pipeline.predict(
                [torch.from_numpy(r) for r in chunk], prediction_length=horizon, **{**sample_kw, "num_samples": n}
            )
        return np.asarray(out.numpy())  # (len(chunk), n, H)

    samples: list[np.ndarray] = []
    if opts.seed >= 0:
        # One series per generate call, seeded: reproducible and independent of the batch.
        for row in rows:
            torch.manual_seed(opts.seed)
            parts, left = [], opts.num_samples
            while left > 0:
                n = min(left, opts.max_sequences)
                parts.append(draw([row], n))
                left -= n
            samples.append(np.concatenate(parts, axis=1)[0])
    else:
        per_call = max(1, opts.max_sequences // opts.num_samples)
        for start in range(0, len(rows), per_call):
            samples.extend(draw(rows[start : start + per_call], opts.num_samples))
    stacked = np.stack(samples)  # (n_rows, num_samples, H)
    mean = stacked.mean(axis=1).astype(np.float32)
    quantiles = from_samples(stacked, wanted, axis=1)  # (n_levels, n_rows, H)
    return list(zip(_split(mean, spans, 0), _split(quantiles, spans, 1), strict=True))


def _schema(s: Prepared) -> tuple[Any, ...]:
    def kinds(d: dict[str, np.ndarray]) -> tuple[tuple[str, bool], ...]:
        return tuple(sorted((k, is_categorical(v)) for k, v in d.items()))

    return (s.n_targets, kinds(s.past), kinds(s.future_past))


def _chronos2_input(s: Prepared) -> dict[str, Any]:
    item: dict[str, Any] = {"target": s.target}
    past = {**s.past, **s.future_past}
    if past:
        item["past_covariates"] = past
    if s.future:
        item["future_covariates"] = dict(s.future)
    return item


def run_chronos2(
    pipeline: Any,
    series: list[Prepared],
    *,
    horizon: int,
    wanted: Sequence[float],
    opts: ForecastOptions,
    sink: list[str],
    context_length: int,
) -> list[Result]:
    # The library needs one schema per call (same n_targets and covariate names/kinds).
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, s in enumerate(series):
        groups.setdefault(_schema(s), []).append(i)
    calls: list[list[int]] = []
    for schema, members in groups.items():
        n_targets, past_kinds, future_kinds = schema
        has_categorical = any(cat for _, cat in past_kinds + future_kinds)
        if has_categorical and n_targets > 1:
            # Multi-target categoricals are ordinal-coded over the categories of the whole call:
            # forecast alone so a series' codes do not depend on its batch neighbours.
            calls.extend([m] for m in members)
        else:
            calls.append(members)
    results: list[Result | None] = [None] * len(series)
    for members in calls:
        with upstream_warnings(sink):
            preds = pipeline.predict(
                [_chronos2_input(series[i]) for i in members],
                prediction_length=horizon,
                batch_size=opts.batch_size,
                context_length=context_length,
            )
        for i, pred in zip(members, preds, strict=True):
            results[i] = _from_native(pred.numpy(), pipeline.quantiles, wanted)
    return [r for r in results if r is not None]


RUNNERS: dict[str, Callable[..., list[Result]]] = {"t5": run_t5, "bolt": run_bolt, "chronos2": run_chronos2}
