"""``X-Request-ID``: taken from the request (when it is a sane token) or made, echoed in the
answer, set for log records and passed on to the worker; one access log line per request.

Two parts, because error answers are rendered by the exception handlers *outside* the route's
middleware: :class:`RequestIdMiddleware` picks the id (and sets :data:`REQUEST_ID` for the
request's task), and the app-wide :func:`before_send` hook stamps every answer, errors included,
and writes the access line when the last body chunk goes out.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from tollama.request_context import REQUEST_ID

log = logging.getLogger("tollama.access")
_SANE = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")
_STATE = "tollama_request"


def request_id_of(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id" and _SANE.fullmatch(value):
            return value.decode("ascii")
    return uuid.uuid4().hex


def _ensure(scope: Scope) -> dict[str, object]:
    state = scope.setdefault("state", {})
    entry = state.get(_STATE)
    if entry is None:
        entry = state[_STATE] = {"id": request_id_of(scope), "t0": time.perf_counter(), "status": 0}
        REQUEST_ID.set(str(entry["id"]))  # the request's own task: no reset needed
    return entry


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            _ensure(scope)
        await self.app(scope, receive, send)


async def before_send(message: Message, scope: Scope) -> None:
    if scope["type"] != ScopeType.HTTP:
        return
    entry = _ensure(scope)
    if message["type"] == "http.response.start":
        entry["status"] = message["status"]
        MutableScopeHeaders.from_message(message)["x-request-id"] = str(entry["id"])
    elif message["type"] == "http.response.body" and not message.get("more_body", False):
        ms = round((time.perf_counter() - float(entry["t0"])) * 1000, 3)  # type: ignore[arg-type]
        log.info("%s %s %s", scope["method"], scope["path"], entry["status"],
                 extra={"method": scope["method"], "path": scope["path"], "status": entry["status"], "ms": ms})
