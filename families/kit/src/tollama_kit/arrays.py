"""Conversions between wire messages (packed float32 bytes) and numpy arrays."""

from __future__ import annotations

import numpy as np

from tollama_kit import protocol as wire
from tollama_kit.adapter import ForecastInput, SeriesInput, SeriesOutput
from tollama_kit.errors import BadInput

_F32 = np.dtype("<f4")


def unpack(data: bytes, shape: tuple[int, ...], what: str) -> np.ndarray:
    expected = int(np.prod(shape)) * _F32.itemsize
    if len(data) != expected:
        raise BadInput(f"{what}: expected {expected} bytes for shape {shape}, got {len(data)}")
    return np.frombuffer(data, dtype=_F32).reshape(shape).astype(np.float32, copy=True)


def pack(array: np.ndarray) -> bytes:
    return np.ascontiguousarray(array, dtype=_F32).tobytes()


def _covariate(value: bytes | list[str], length: int, what: str) -> np.ndarray:
    if isinstance(value, bytes):
        return unpack(value, (length,), what)
    if len(value) != length:
        raise BadInput(f"{what}: expected {length} values, got {len(value)}")
    return np.asarray(value, dtype=object)


def to_input(batch: wire.ForecastBatch) -> ForecastInput:
    series = []
    for s in batch.series:
        future_length = s.length + batch.horizon
        series.append(
            SeriesInput(
                id=s.id,
                target=unpack(s.target, (s.n_targets, s.length), f"series {s.id!r} target"),
                past_covariates={
                    k: _covariate(v, s.length, f"series {s.id!r} past covariate {k!r}")
                    for k, v in s.past_covariates.items()
                },
                future_covariates={
                    k: _covariate(v, future_length, f"series {s.id!r} future covariate {k!r}")
                    for k, v in s.future_covariates.items()
                },
                static_covariates=dict(s.static_covariates),
                freq=s.freq,
            )
        )
    return ForecastInput(
        horizon=batch.horizon,
        quantiles=tuple(batch.quantiles),
        series=series,
        freq=batch.freq,
        options=dict(batch.options),
    )


def to_wire(out: SeriesOutput, horizon: int, n_levels: int) -> wire.SeriesForecast:
    mean = np.asarray(out.mean, dtype=np.float32)
    if mean.ndim == 1:
        mean = mean[None, :]
    quantiles = np.asarray(out.quantiles, dtype=np.float32)
    if quantiles.ndim == 2:
        quantiles = quantiles[:, None, :]
    n_targets = mean.shape[0]
    if mean.shape != (n_targets, horizon) or quantiles.shape != (n_levels, n_targets, horizon):
        raise ValueError(
            f"adapter returned mean {mean.shape} and quantiles {quantiles.shape}; "
            f"expected ({n_targets}, {horizon}) and ({n_levels}, {n_targets}, {horizon})"
        )
    return wire.SeriesForecast(id=out.id, mean=pack(mean), quantiles=pack(quantiles), n_targets=n_targets)
