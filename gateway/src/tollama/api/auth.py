"""API keys: who may call which route (an ASGI middleware in front of every route).

Keys come from ``TOLLAMA_API_KEYS`` (comma-separated ``scope:key`` pairs) and
``TOLLAMA_API_KEYS_FILE`` (one pair a line). With no key configured the gateway is open
(and binds loopback unless ``TOLLAMA_HOST`` says otherwise). With keys, every route but
:data:`OPEN_PATHS` needs ``Authorization: Bearer <key>``:

- a missing or unknown key → 401 ``unauthorized`` with ``WWW-Authenticate: Bearer``;
- a ``forecast`` key on an admin verb (:data:`ADMIN_ROUTES`) → 403 ``forbidden``.

Keys are compared in constant time (``hmac.compare_digest`` over SHA-256 digests, every
configured key checked) and never appear in a log line or an error body. CORS preflights
(``OPTIONS`` with an ``Origin``) are answered by the CORS layer before this one.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from tollama.errors import Forbidden, TollamaError, Unauthorized, status_of

Scope_ = Literal["admin", "forecast"]
SCOPES: tuple[Scope_, ...] = ("admin", "forecast")

#: Routes that answer without a key (liveness, readiness, version: what probes and clients ask first).
OPEN_PATHS = frozenset({"/", "/healthz", "/readyz", "/api/version"})

#: Verbs that change the store or the loaded set: only an ``admin`` key may call them.
ADMIN_ROUTES = frozenset({
    ("POST", "/api/pull"), ("DELETE", "/api/delete"), ("POST", "/api/copy"), ("POST", "/api/create"), ("POST", "/api/stop"),
})

_JSON = msgspec.json.Encoder()


@dataclass(frozen=True)
class ApiKey:
    scope: Scope_
    digest: bytes
    """SHA-256 of the key: the key itself is not kept, so it cannot end up in a repr or a log."""


def parse_keys(spec: str, where: str = "TOLLAMA_API_KEYS") -> list[ApiKey]:
    """``"admin:k1,forecast:k2"`` → keys. Errors name the entry by position, never the key."""
    return _parse(((i + 1, part) for i, part in enumerate(spec.split(","))), where, "entry")


def read_keys_file(path: Path) -> list[ApiKey]:
    """One ``scope:key`` pair a line; blank lines and ``#`` comments are skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"TOLLAMA_API_KEYS_FILE={str(path)!r} cannot be read: {exc.strerror}") from None
    return _parse(enumerate(text.splitlines(), start=1), f"TOLLAMA_API_KEYS_FILE={str(path)!r}", "line")


def _parse(entries: Iterable[tuple[int, str]], where: str, unit: str) -> list[ApiKey]:
    keys = []
    for number, raw in entries:
        text = raw.strip()
        if not text or (unit == "line" and text.startswith("#")):
            continue
        scope, sep, secret = text.partition(":")
        scope, secret = scope.strip(), secret.strip()
        if not sep or scope not in SCOPES:
            raise ValueError(f"{where}: {unit} {number} is not scope:key with scope admin or forecast (got scope {scope!r})")
        if len(secret) < 8:
            raise ValueError(f"{where}: {unit} {number}: the key is shorter than 8 characters")
        keys.append(ApiKey(scope, hashlib.sha256(secret.encode()).digest()))
    return keys


def load_keys(spec: str, file: Path | None) -> list[ApiKey]:
    """Every configured key: ``TOLLAMA_API_KEYS`` and the lines of ``TOLLAMA_API_KEYS_FILE``."""
    return parse_keys(spec) + (read_keys_file(file) if file is not None else [])


def match(keys: Iterable[ApiKey], presented: str) -> ApiKey | None:
    """The key ``presented`` is, compared in constant time against every configured key."""
    digest = hashlib.sha256(presented.encode()).digest()
    found = None
    for key in keys:
        if hmac.compare_digest(key.digest, digest):
            found = key
    return found


def bearer(scope: Scope) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, if there is one."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            kind, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if kind.lower() == "bearer" and token.strip() else None
    return None


class AuthMiddleware:
    """Refuses requests without a valid key; lets open routes and CORS preflights through."""

    def __init__(self, app: ASGIApp, *, keys: list[ApiKey]) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        token = bearer(scope)
        key = match(self.keys, token) if token is not None else None
        if key is None:
            why = "no API key was sent" if token is None else "the API key is not valid"
            await _refuse(send, Unauthorized(f"{why}: send Authorization: Bearer <key> (TOLLAMA_API_KEY for the CLI)"))
            return
        if key.scope != "admin" and (method, scope["path"]) in ADMIN_ROUTES:
            await _refuse(send, Forbidden(
                f"{method} {scope['path']} needs an admin key; this key's scope is {key.scope!r}", scope=key.scope,
            ))
            return
        await self.app(scope, receive, send)


async def _refuse(send: Send, exc: TollamaError) -> None:
    body = _JSON.encode(exc.body())
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if isinstance(exc, Unauthorized):
        headers.append((b"www-authenticate", b'Bearer realm="tollama"'))
    await send({"type": "http.response.start", "status": status_of(exc), "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
