"""``GET /ui``: the web playground, static files shipped in the package (no build step at run time).

Every answer carries a Content-Security-Policy that lets the page load and fetch from the
gateway alone (``'self'``): no script, style, font or request may go anywhere else. Only the
files that are in the package's ``ui`` folder when the server starts are served.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from litestar import Response, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

UI_DIR = Path(__file__).resolve().parent.parent / "ui"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
       "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
_HEADERS = {"content-security-policy": CSP, "x-content-type-options": "nosniff", "referrer-policy": "no-referrer"}
_FILES = {p.relative_to(UI_DIR).as_posix(): p for p in UI_DIR.rglob("*") if p.is_file() and p.name != "index.html"}
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


@get("/ui", include_in_schema=False, sync_to_thread=False)
def playground() -> Response[bytes]:
    return Response((UI_DIR / "index.html").read_bytes(), media_type="text/html; charset=utf-8", headers=_HEADERS)


@get("/ui/static/{path:path}", include_in_schema=False, sync_to_thread=False)
def static(path: FromPath[str]) -> Response[bytes]:
    file = _FILES.get(path.lstrip("/"))
    if file is None:
        raise NotFoundException(f"no file {path!r} in the playground")
    media = _TYPES.get(file.suffix) or mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    return Response(file.read_bytes(), media_type=media, headers={**_HEADERS, "cache-control": "no-cache"})


ROUTES = [playground, static]
