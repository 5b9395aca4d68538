"""The current request's id (``X-Request-ID``), visible to log records and the worker client."""

from __future__ import annotations

from contextvars import ContextVar

REQUEST_ID: ContextVar[str | None] = ContextVar("tollama_request_id", default=None)
