"""Logging set-up: ``TOLLAMA_LOG_FORMAT=text`` (human lines) or ``json`` (one object a line).

Every record carries the current request's id (``request_id``) when there is one; JSON lines
add the fields a record was given with ``extra=`` (method, path, status, ms, ...).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from tollama.request_context import REQUEST_ID

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if getattr(record, "request_id", None):
            out["request_id"] = record.request_id  # type: ignore[attr-defined]
        out.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        rid = getattr(record, "request_id", None)
        return f"{text} [request {rid}]" if rid else text


def configure(level: str, fmt: str) -> None:
    """Install one stderr handler on the root logger (replacing an earlier ``configure``'s)."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_tollama", False)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler()
    handler._tollama = True  # type: ignore[attr-defined]
    handler.addFilter(_RequestIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else _TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.getLogger("httpx").setLevel(logging.WARNING)
