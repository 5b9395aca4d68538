"""A local model hub that speaks the Hugging Face Hub protocol, for tests (no network).

``HubServer({"org/repo": {"main": {"config.json": b"{}", "model.bin": b"..."}}})`` serves, on
127.0.0.1 and a port the OS picks:

- ``GET /api/models/{repo}/revision/{rev}`` → ``{"id", "sha", "siblings": [{"rfilename"}]}``
- ``GET /api/models/{repo}/tree/{rev}?recursive=true`` → ``[{type, oid, size, path, lfs?}]``
- ``GET|HEAD /{repo}/resolve/{rev}/{path}``: files below ``lfs_threshold`` bytes are served from
  git (``ETag`` = git blob id); larger ones are LFS: a 302 to ``/cdn/{sha256}`` (on
  ``cdn_host``) with ``X-Linked-Etag`` (sha256), ``X-Linked-Size`` and ``X-Repo-Commit``
- ``GET /cdn/{sha256}`` → the bytes, with ``Range`` support (206) unless ``ignore_range``

Fault knobs (set before or between requests): ``drop_after[path] = n`` (send n bytes of the
file, then cut the connection; once), ``corrupt`` (set of paths served with a flipped byte),
``token`` (require ``Authorization: Bearer <token>`` on the API and resolve routes),
``status[path-or-"*"] = code`` (answer that status), ``gate`` (a threading.Event file bodies
wait for). Every request lands in ``log``. Threaded, no sleeps.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

Repos = dict[str, dict[str, dict[str, bytes]]]


def git_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    status: int = 0
    sent: int = 0  # body bytes written

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class HubServer:
    repos: Repos
    lfs_threshold: int = 1024
    cdn_host: str = "127.0.0.1"
    token: str | None = None
    ignore_range: bool = False
    drop_after: dict[str, int] = field(default_factory=dict)
    corrupt: set[str] = field(default_factory=set)
    status: dict[str, int] = field(default_factory=dict)
    gate: threading.Event | None = None
    log: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> HubServer:
        hub = self

        class Handler(_Handler):
            server_hub = hub

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self.gate is not None:
            self.gate.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- views ------------------------------------------------------------------------------
    def commit(self, repo: str, revision: str) -> str:
        files = self._files(repo, revision)
        assert files is not None
        return self._commit_of(files)

    @staticmethod
    def _commit_of(files: dict[str, bytes]) -> str:
        h = hashlib.sha1()
        for path in sorted(files):
            h.update(path.encode() + b"\x00" + git_oid(files[path]).encode())
        return h.hexdigest()

    def _files(self, repo: str, revision: str) -> dict[str, bytes] | None:
        revs = self.repos.get(repo)
        if revs is None:
            return None
        if revision in revs:
            return revs[revision]
        for files in revs.values():
            if self._commit_of(files) == revision:
                return files
        return None

    def requests(self, fragment: str = "", method: str = "GET") -> list[Request]:
        with self._lock:
            return [r for r in self.log if fragment in r.path and r.method == method]

    def _record(self, req: Request) -> None:
        with self._lock:
            self.log.append(req)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hang up mid-body on purpose in these tests: stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    server_hub: HubServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_HEAD(self) -> None:
        self._handle(body=False)

    def do_GET(self) -> None:
        self._handle(body=True)

    # -- routing ----------------------------------------------------------------------------
    def _handle(self, *, body: bool) -> None:
        hub = self.server_hub
        path = urlsplit(self.path).path
        self.req = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
        hub._record(self.req)
        self.send_body = body
        try:
            if path.startswith("/cdn/"):
                self._cdn(path.removeprefix("/cdn/"))
                return
            if hub.token is not None and self.headers.get("Authorization") != f"Bearer {hub.token}":
                self._json(401, {"error": "Invalid credentials in Authorization header"})
                return
            if "*" in hub.status:
                self._json(hub.status["*"], {"error": "injected"})
                return
            if path.startswith("/api/models/"):
                self._api(unquote(path.removeprefix("/api/models/")))
            else:
                self._resolve(path.lstrip("/"))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _split_repo(self, rest: str, marker: str) -> tuple[str, str, str] | None:
        for repo in self.server_hub.repos:
            prefix = f"{repo}/{marker}/"
            if rest.startswith(prefix):
                rev, _, tail = rest.removeprefix(prefix).partition("/")
                return repo, unquote(rev), unquote(tail)
        return None

    def _api(self, rest: str) -> None:
        hub = self.server_hub
        for marker in ("revision", "tree"):
            found = self._split_repo(rest, marker)
            if found is None:
                continue
            repo, rev, _ = found
            files = hub._files(repo, rev)
            if files is None:
                self._json(404, {"error": f"Revision Not Found for {repo}@{rev}"})
                return
            if marker == "revision":
                sha = hub._commit_of(files)
                self._json(200, {"id": repo, "sha": sha, "siblings": [{"rfilename": p} for p in sorted(files)]})
                return
            entries: list[dict[str, Any]] = []
            dirs = sorted({p.rsplit("/", 1)[0] for p in files if "/" in p})
            entries += [{"type": "directory", "oid": "0" * 40, "size": 0, "path": d} for d in dirs]
            for p in sorted(files):
                data = files[p]
                e: dict[str, Any] = {"type": "file", "oid": git_oid(data), "size": len(data), "path": p}
                if len(data) >= hub.lfs_threshold:
                    e["lfs"] = {"oid": sha256(data), "size": len(data), "pointerSize": 134}
                    e["size"] = len(data)
                entries.append(e)
            self._json(200, entries)
            return
        self._json(404, {"error": "Repository Not Found"})

    def _resolve(self, rest: str) -> None:
        hub = self.server_hub
        found = self._split_repo(rest, "resolve")
        files = None if found is None else hub._files(found[0], found[1])
        if found is None or files is None or found[2] not in files:
            self._json(404, {"error": "Entry not found"}, extra={"X-Error-Code": "EntryNotFound"})
            return
        fpath = found[2]
        if fpath in hub.status:
            self._json(hub.status[fpath], {"error": "injected"})
            return
        data = files[fpath]
        common = {"X-Repo-Commit": hub._commit_of(files), "X-Linked-Size": str(len(data))}
        if len(data) >= hub.lfs_threshold:
            digest = sha256(data)
            self.send_response(302)
            self.send_header("Location", f"http://{hub.cdn_host}:{hub.port}/cdn/{digest}")
            self.send_header("ETag", f'"{digest}"')
            self.send_header("X-Linked-Etag", f'"{digest}"')
            for k, v in common.items():
                self.send_header(k, v)
            self.send_header("Content-Length", "0")
            self.end_headers()
            self.req.status = 302
            return
        self._file(fpath, data, {"ETag": f'"{git_oid(data)}"', **common})

    def _cdn(self, digest: str) -> None:
        hub = self.server_hub
        hit = None
        for revs in hub.repos.values():
            for files in revs.values():
                for p, data in files.items():
                    if sha256(data) == digest:
                        hit = (p, data)
        if hit is None:
            self._json(404, {"error": "not found"})
            return
        self._file(hit[0], hit[1], {"ETag": f'"{digest}"'})

    # -- bodies -----------------------------------------------------------------------------
    def _file(self, fpath: str, data: bytes, headers: dict[str, str]) -> None:
        hub = self.server_hub
        if fpath in hub.corrupt:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        start, status = 0, 200
        rng = self.headers.get("Range")
        if rng and not hub.ignore_range and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[len("bytes=") : -1])
            if start >= len(data):
                self._json(416, {"error": "range not satisfiable"})
                return
            status = 206
        chunk = data[start:]
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(chunk)))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        self.req.status = status
        if not self.send_body:
            return
        if hub.gate is not None:
            hub.gate.wait(timeout=30)
        with hub._lock:
            cut = hub.drop_after.pop(fpath, None)
        if cut is not None:
            self.wfile.write(chunk[:cut])
            self.wfile.flush()
            self.req.sent = min(cut, len(chunk))
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(chunk)
        self.req.sent = len(chunk)

    def _json(self, status: int, payload: Any, extra: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.req.status = status
        if self.send_body:
            self.wfile.write(body)
            self.req.sent = len(body)
