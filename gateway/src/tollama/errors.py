"""The one error model of the gateway.

Every failure a client can see is a :class:`TollamaError` with a stable ``code``; the
HTTP status comes from one table, :data:`STATUS`, which a test checks is exhaustive.
The body is ``{"error": "<human message>", "code": "<stable_code>", ...details}``:
Ollama clients read ``error``, programs branch on ``code``. Validation errors add
``path`` (JSON path), ``limit`` and ``value``.

::

    TollamaError
    ├── InvalidRequest           400 invalid_request     malformed body, wrong type, unknown field
    │   ├── InvalidValue         400 invalid_value       a value outside its limits (path/limit/value)
    │   │   └── NotEnoughHistory 400 not_enough_history  no series gives the backtest windows asked for
    │   ├── InvalidModelName     400 invalid_model_name  empty, path-like or hostile model names
    │   └── LicenseNotAccepted   403 license_not_accepted
    ├── ModelNotFound            404 model_not_found     not installed / not in the catalogue
    │   └── VariantNotPulled     404 variant_not_pulled  no pulled variant fits (names the one to pull)
    ├── Conflict                 409 conflict            e.g. delete of a base model in use
    ├── UnsupportedFeature       422 unsupported         a capability the model lacks (strict mode)
    ├── PayloadTooLarge          413 payload_too_large
    ├── Busy                     503 busy                queue full (Retry-After)
    ├── UpstreamError            502 upstream_error      the model hub failed or is unreachable
    ├── IntegrityError           502 integrity_error     a download did not match its digest
    ├── WorkerError              500 worker_error        a worker failed (log tail attached)
    │   ├── WorkerUnavailable    503 worker_unavailable  a worker could not start / died
    │   └── WorkerOutOfMemory    507 out_of_memory
    ├── RuntimeNotInstalled      409 runtime_not_installed  the family environment/image is missing
    └── InternalError            500 internal_error
"""

from __future__ import annotations

from typing import Any


class TollamaError(Exception):
    code: str = "internal_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = {k: v for k, v in details.items() if v is not None}

    def body(self) -> dict[str, Any]:
        return {"error": self.message, "code": self.code, **self.details}


class InvalidRequest(TollamaError):
    code = "invalid_request"


class InvalidValue(InvalidRequest):
    code = "invalid_value"

    def __init__(self, message: str, *, path: str, value: Any = None, limit: Any = None, **details: Any) -> None:
        super().__init__(message, path=path, value=value, limit=limit, **details)


class NotEnoughHistory(InvalidValue):
    """An evaluation asks for more backtest windows than any series can give (path/limit/value)."""

    code = "not_enough_history"


class InvalidModelName(InvalidRequest):
    code = "invalid_model_name"


class LicenseNotAccepted(InvalidRequest):
    code = "license_not_accepted"


class ModelNotFound(TollamaError):
    code = "model_not_found"


class VariantNotPulled(ModelNotFound):
    """The requested model has variants and none of the pulled ones fits the request.

    Details: ``path``, ``limit``, ``value`` (as :class:`InvalidValue`) and ``variant``, the one to pull.
    """

    code = "variant_not_pulled"


class Conflict(TollamaError):
    code = "conflict"


class UnsupportedFeature(TollamaError):
    code = "unsupported"


class PayloadTooLarge(TollamaError):
    code = "payload_too_large"


class Busy(TollamaError):
    code = "busy"

    def __init__(self, message: str, *, retry_after: int = 1, **details: Any) -> None:
        super().__init__(message, retry_after=retry_after, **details)
        self.retry_after = retry_after


class UpstreamError(TollamaError):
    code = "upstream_error"


class IntegrityError(TollamaError):
    code = "integrity_error"


class WorkerError(TollamaError):
    code = "worker_error"


class WorkerUnavailable(WorkerError):
    code = "worker_unavailable"


class WorkerOutOfMemory(WorkerError):
    code = "out_of_memory"


class RuntimeNotInstalled(TollamaError):
    code = "runtime_not_installed"


class InternalError(TollamaError):
    code = "internal_error"


#: The one table from error code to HTTP status (tests check every subclass is here).
STATUS: dict[str, int] = {
    "invalid_request": 400,
    "invalid_value": 400,
    "invalid_model_name": 400,
    "not_enough_history": 400,
    "license_not_accepted": 403,
    "model_not_found": 404,
    "variant_not_pulled": 404,
    "conflict": 409,
    "runtime_not_installed": 409,
    "payload_too_large": 413,
    "unsupported": 422,
    "internal_error": 500,
    "worker_error": 500,
    "upstream_error": 502,
    "integrity_error": 502,
    "busy": 503,
    "worker_unavailable": 503,
    "out_of_memory": 507,
}


def status_of(exc: TollamaError) -> int:
    return STATUS[exc.code]
