"""The one error model of the gateway.

Every failure a client can see is a :class:`TollamaError` with a stable ``code``; the
HTTP status comes from one table, :data:`STATUS`, which holds every code the server can
send (the framework's own refusals included: unknown route, method, media type) and which
the server, the Python client (:mod:`tollama.client` raises the class of the code it
reads) and the CLI share. Tests check it is exhaustive and that every
response the test suite sees carries a code from it; docs/errors.md is generated from it.
The body is ``{"error": "<human message>", "code": "<stable_code>", ...details}``:
Ollama clients read ``error``, programs branch on ``code``. Validation errors add
``path`` (JSON path), ``limit`` and ``value``.

::

    TollamaError
    ├── InvalidRequest           400 invalid_request     malformed body, wrong type, unknown field
    │   ├── InvalidValue         400 invalid_value       a value outside its limits (path/limit/value)
    │   │   └── NotEnoughHistory 400 not_enough_history  no series gives the backtest windows asked for
    │   ├── InvalidModelName     400 invalid_model_name  empty, path-like or hostile model names
    │   ├── InvalidTable         400 invalid_table       a long-format table that cannot be read (row/line, column, value)
    │   └── LicenseNotAccepted   403 license_not_accepted
    ├── Unauthorized             401 unauthorized        a missing or wrong API key (WWW-Authenticate: Bearer)
    ├── Forbidden                403 forbidden           the key's scope does not allow the verb
    ├── NotFound                 404 not_found           no such route
    │   └── ModelNotFound        404 model_not_found     not installed / not in the catalogue
    │       └── VariantNotPulled 404 variant_not_pulled  no pulled variant fits (names the one to pull)
    ├── MethodNotAllowed         405 method_not_allowed  the route exists, not with this method
    ├── UnsupportedMediaType     415 unsupported_media_type  a body in a media type the route does not read
    ├── Conflict                 409 conflict            e.g. delete of a base model in use
    ├── UnsupportedFeature       422 unsupported         a capability the model lacks (strict mode)
    ├── PayloadTooLarge          413 payload_too_large   the body is over TOLLAMA_MAX_BODY_BYTES (limit, value)
    ├── Busy                     503 busy                queue full (Retry-After)
    ├── NotReady                 503 not_ready           /readyz: a dependency cannot serve (named in ``failing``)
    ├── UpstreamError            502 upstream_error      the model hub failed or is unreachable
    ├── IntegrityError           502 integrity_error     a download did not match its digest
    ├── WorkerError              500 worker_error        a worker failed (log tail attached)
    │   ├── WorkerUnavailable    503 worker_unavailable  a worker could not start / died
    │   └── WorkerOutOfMemory    507 out_of_memory
    ├── RuntimeNotInstalled      409 runtime_not_installed  the family environment/image is missing
    ├── InternalError            500 internal_error      a bug: the message names the exception
    └── HttpError                500 http_error          a framework refusal with no code of its own (a bug)
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


class InvalidTable(InvalidRequest):
    """A long-format table (CSV, Parquet, Arrow) that cannot be read as series.

    Details: ``row`` (1-based data row, in the order sent), ``line`` (CSV:
    the file line, header = 1), ``column`` and ``value`` where they apply.
    """

    code = "invalid_table"


class LicenseNotAccepted(InvalidRequest):
    code = "license_not_accepted"


class Unauthorized(TollamaError):
    code = "unauthorized"


class Forbidden(TollamaError):
    code = "forbidden"


class NotFound(TollamaError):
    code = "not_found"


class ModelNotFound(NotFound):
    code = "model_not_found"


class VariantNotPulled(ModelNotFound):
    """The requested model has variants and none of the pulled ones fits the request.

    Details: ``path``, ``limit``, ``value`` (as :class:`InvalidValue`) and ``variant``, the one to pull.
    """

    code = "variant_not_pulled"


class MethodNotAllowed(TollamaError):
    code = "method_not_allowed"


class UnsupportedMediaType(TollamaError):
    code = "unsupported_media_type"


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


class NotReady(TollamaError):
    code = "not_ready"


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


class HttpError(TollamaError):
    """A framework ``HTTPException`` whose status has no code of its own (details: ``http_status``)."""

    code = "http_error"


#: The one table from error code to HTTP status (tests check every subclass is here).
STATUS: dict[str, int] = {
    "invalid_request": 400,
    "invalid_value": 400,
    "invalid_model_name": 400,
    "invalid_table": 400,
    "not_enough_history": 400,
    "unauthorized": 401,
    "license_not_accepted": 403,
    "forbidden": 403,
    "not_found": 404,
    "model_not_found": 404,
    "variant_not_pulled": 404,
    "conflict": 409,
    "runtime_not_installed": 409,
    "method_not_allowed": 405,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "unsupported": 422,
    "internal_error": 500,
    "http_error": 500,
    "worker_error": 500,
    "upstream_error": 502,
    "integrity_error": 502,
    "busy": 503,
    "not_ready": 503,
    "worker_unavailable": 503,
    "out_of_memory": 507,
}


def status_of(exc: TollamaError) -> int:
    return STATUS[exc.code]


def _classes(root: type[TollamaError]) -> list[type[TollamaError]]:
    out: list[type[TollamaError]] = [root]
    for sub in root.__subclasses__():
        out += _classes(sub)
    return out


#: The class of each code (this module's classes; each code has exactly one).
CLASSES: dict[str, type[TollamaError]] = {cls.code: cls for cls in _classes(TollamaError)[1:] if cls.__module__ == __name__}
