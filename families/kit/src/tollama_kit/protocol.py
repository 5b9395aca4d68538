"""Worker protocol v1: the messages between the gateway and a family worker.

This module imports only msgspec so that the gateway (which never imports torch or
numpy-heavy family code) and every worker share the very same Structs.

Transport: HTTP. Bodies are MessagePack (``application/msgpack``); JSON is accepted
for debugging. Float arrays travel packed as little-endian float32 ``bytes``
(``NaN`` marks a missing value), never as lists of numbers.

Endpoints::

    GET  /v1/health    -> Health
    GET  /v1/info      -> Info
    POST /v1/load      LoadRequest     -> LoadResponse
    POST /v1/unload    UnloadRequest   -> UnloadResponse
    POST /v1/forecast  ForecastBatch   -> ForecastResult

Errors come back with a 4xx/5xx status and a :class:`WorkerError` body.
New fields must get defaults so that older peers keep working (internal types are
not strict about unknown fields).
"""

from __future__ import annotations

from typing import Literal, TypeVar

import msgspec

PROTOCOL_VERSION = 1
CONTENT_TYPE = "application/msgpack"

#: Stable worker error codes, mapped to gateway error codes at the boundary.
WorkerErrorCode = Literal[
    "bad_input",  # the batch is invalid for this model (should have been caught by the gateway)
    "model_not_loaded",  # forecast/unload for a model the worker does not hold
    "load_failed",  # the checkpoint could not be loaded
    "out_of_memory",  # RAM or VRAM exhausted
    "unsupported",  # a feature the family does not implement
    "internal",  # anything else
]


class Health(msgspec.Struct, kw_only=True):
    status: Literal["ok"] = "ok"
    family: str
    protocol_version: int = PROTOCOL_VERSION


class LoadedModel(msgspec.Struct, kw_only=True):
    key: str
    name: str
    device: str
    memory_bytes: int = 0
    loaded_at: float = 0.0
    rss_bytes: int = 0
    """Measured: the worker process's resident memory growth across the load."""
    vram_bytes: int = 0
    """Measured: CUDA memory allocated by the load (0 on CPU)."""


class Info(msgspec.Struct, kw_only=True):
    family: str
    protocol_version: int = PROTOCOL_VERSION
    versions: dict[str, str] = {}
    device: str = "cpu"
    memory_bytes: int = 0
    loaded: list[LoadedModel] = []


class LoadRequest(msgspec.Struct, kw_only=True):
    key: str
    """Identity of the loaded model inside the worker (the gateway uses the manifest digest)."""
    name: str
    """The registry model name (e.g. ``chronos-bolt-small``); adapters may branch on it."""
    path: str
    """Local snapshot directory, laid out like the hub repository."""
    device: str = "auto"
    """``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``."""
    options: dict[str, str | int | float | bool] = {}


class LoadResponse(msgspec.Struct, kw_only=True):
    key: str
    device: str
    memory_bytes: int = 0
    """The adapter's own figure (parameter and buffer bytes)."""
    load_ms: float = 0.0
    already_loaded: bool = False
    rss_bytes: int = 0
    """Measured: resident memory growth of the worker across the load."""
    vram_bytes: int = 0
    """Measured: CUDA memory allocated by the load (0 on CPU)."""


class UnloadRequest(msgspec.Struct, kw_only=True):
    key: str


class UnloadResponse(msgspec.Struct, kw_only=True):
    key: str
    unloaded: bool


class Series(msgspec.Struct, kw_only=True):
    """One already-validated series.

    ``target`` holds ``n_targets * length`` float32 values, row-major (one row per
    target variate). Numeric covariates are packed float32; categorical ones are
    lists of strings. ``past_covariates`` have ``length`` values; ``future_covariates``
    have ``length + horizon`` values (history and horizon).
    """

    id: str
    target: bytes
    length: int
    n_targets: int = 1
    past_covariates: dict[str, bytes | list[str]] = {}
    future_covariates: dict[str, bytes | list[str]] = {}
    static_covariates: dict[str, float | str] = {}
    freq: str | None = None
    """This series' own frequency (a batch may mix frequencies); ``None``: the batch's ``freq``."""


class ForecastBatch(msgspec.Struct, kw_only=True):
    key: str
    horizon: int
    quantiles: list[float]
    series: list[Series]
    freq: str | None = None
    options: dict[str, str | int | float | bool] = {}


class SeriesForecast(msgspec.Struct, kw_only=True):
    """``mean`` holds ``n_targets * horizon`` float32 values; ``quantiles`` holds
    ``len(levels) * n_targets * horizon`` values (level-major)."""

    id: str
    mean: bytes
    quantiles: bytes
    n_targets: int = 1


class ForecastResult(msgspec.Struct, kw_only=True):
    series: list[SeriesForecast]
    quantiles: list[float]
    device: str
    inference_ms: float
    batch_size: int = 1
    """How many requests the worker fused into the forward pass that served this one."""
    warnings: list[str] = []


class WorkerError(msgspec.Struct, kw_only=True):
    code: WorkerErrorCode
    message: str
    log_tail: str | None = None


_encoder = msgspec.msgpack.Encoder()


def encode(message: msgspec.Struct) -> bytes:
    """MessagePack-encode a protocol message."""
    return _encoder.encode(message)


T = TypeVar("T")


def decoder(kind: type[T]) -> msgspec.msgpack.Decoder[T]:
    """A reusable MessagePack decoder for one message type."""
    return msgspec.msgpack.Decoder(kind)
