"""Typed worker errors, each carrying a stable :data:`~tollama_kit.protocol.WorkerErrorCode`.

::

    KitError
    ├── BadInput          400  the batch cannot be served by this model
    ├── ModelNotLoaded    404  forecast or unload for a model the worker does not hold
    ├── Unsupported       422  a feature this family does not implement
    ├── LoadFailed        500  the checkpoint could not be loaded
    ├── OutOfMemory       507  RAM or VRAM exhausted
    └── Internal          500  anything else (the adapter raised something unexpected)

``map_adapter_errors`` translates third-party exceptions at the adapter boundary.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tollama_kit.protocol import WorkerErrorCode


class KitError(Exception):
    code: WorkerErrorCode = "internal"
    status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadInput(KitError):
    code: WorkerErrorCode = "bad_input"
    status = 400


class ModelNotLoaded(KitError):
    code: WorkerErrorCode = "model_not_loaded"
    status = 404


class Unsupported(KitError):
    code: WorkerErrorCode = "unsupported"
    status = 422


class LoadFailed(KitError):
    code: WorkerErrorCode = "load_failed"
    status = 500


class OutOfMemory(KitError):
    code: WorkerErrorCode = "out_of_memory"
    status = 507


class Internal(KitError):
    code: WorkerErrorCode = "internal"
    status = 500


def _is_oom(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    name = type(exc).__name__
    return name in {"OutOfMemoryError", "OutOfMemoryException"} or "out of memory" in str(exc).lower()


@contextmanager
def map_adapter_errors(stage: str) -> Iterator[None]:
    """Translate whatever an adapter raises into a :class:`KitError`, chained with ``from``."""
    try:
        yield
    except KitError:
        raise
    except BaseException as exc:
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        if _is_oom(exc):
            raise OutOfMemory(f"{stage}: out of memory ({type(exc).__name__}: {exc})") from exc
        if stage == "load":
            raise LoadFailed(f"load failed: {type(exc).__name__}: {exc}") from exc
        raise Internal(f"{stage} failed: {type(exc).__name__}: {exc}") from exc
