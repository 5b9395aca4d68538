"""The model store: content-addressed blobs, manifests per model name, read-only snapshots.

::

    <root>/                               (Settings.store_dir, i.e. $TOLLAMA_HOME/models)
    ├── blobs/sha256-<hex>                immutable file contents, mode 0444
    ├── manifests/<namespace>/<name>/<tag>  JSON Manifest; its digest is sha256 of the sorted-key encoding
    ├── snapshots/<manifest-digest-hex>/  the hub's file layout; hard links to blobs (copies across devices)
    └── tmp/                              partial downloads (<algo>-<hex>.partial), temp files and trees

Every write is atomic: files are written in ``tmp/``, fsynced and renamed into place;
snapshots are built in ``tmp/`` and renamed whole; removals rename out of the way first.
A crash at any point leaves the old state or the new one. Mutations take one lock (a
thread lock plus ``flock`` on ``<root>/.lock`` so replicas sharing a volume agree).
All methods are blocking: async callers run them in a thread. See docs/store.md.
"""

from __future__ import annotations

import builtins
import contextlib
import difflib
import errno
import hashlib
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import msgspec

from tollama.errors import Conflict, IntegrityError, ModelNotFound
from tollama.names import ModelRef, parse_name

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

_DIGEST = re.compile(r"(sha256:[0-9a-f]{64}|sha1:[0-9a-f]{40})")
_CHUNK = 1 << 20


class FileEntry(msgspec.Struct, frozen=True):
    path: str  # relative POSIX path in the repository layout
    digest: str  # "sha256:<hex>"
    size: int


class Manifest(msgspec.Struct, kw_only=True):
    schema_version: int = 1
    name: str  # "name:tag"
    model: str  # the registry model it comes from (for created models: the base's model)
    family: str
    files: list[FileEntry]
    repo: str | None = None
    revision: str | None = None
    commit: str | None = None
    license: str | None = None
    parent: str | None = None  # base model ref for created models
    parameters: dict[str, Any] = {}
    modelfile: str | None = None
    created_at: str  # RFC 3339 UTC


_encoder = msgspec.json.Encoder(order="sorted")
_decoder = msgspec.json.Decoder(Manifest)


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_digest(digest: str) -> str:
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise IntegrityError(f"malformed digest {digest!r}: expected sha256:<64 hex>", digest=str(digest))
    return digest


def check_path(path: str) -> PurePosixPath:
    """A repository file path that is safe to create under a snapshot directory."""
    p = PurePosixPath(path)
    if (
        not path
        or "\\" in path
        or "\x00" in path
        or p.is_absolute()
        or any(part in ("", ".", "..") for part in path.split("/"))
    ):
        raise IntegrityError(f"unsafe file path {path!r} in a model's file list", path=path)
    return p


def hash_file(path: Path, *, git_blob: bool = False) -> tuple[str, str | None]:
    """``("sha256:<hex>", "sha1:<git blob hex>" or None)`` of a file, read once."""
    sha256 = hashlib.sha256()
    sha1 = None
    if git_blob:
        sha1 = hashlib.sha1(usedforsecurity=False)
        sha1.update(b"blob %d\x00" % path.stat().st_size)
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            sha256.update(chunk)
            if sha1 is not None:
                sha1.update(chunk)
    return "sha256:" + sha256.hexdigest(), (None if sha1 is None else "sha1:" + sha1.hexdigest())


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _make_writable_tree(path: Path) -> None:
    for dirpath, _dirs, _files in os.walk(path):
        with contextlib.suppress(OSError):
            os.chmod(dirpath, 0o755)


class ModelStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.blobs_dir = self.root / "blobs"
        self.manifests_dir = self.root / "manifests"
        self.snapshots_dir = self.root / "snapshots"
        self.tmp_dir = self.root / "tmp"
        for d in (self.blobs_dir, self.manifests_dir, self.snapshots_dir, self.tmp_dir):
            d.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._depth = 0
        self._pins: Counter[str] = Counter()

    # -- reading ---------------------------------------------------------------------------
    def digest(self, m: Manifest) -> str:
        """The model's identity: its content, not its name or creation time.

        A copy keeps the digest of its source (as ``ollama cp`` does), and creating a model
        twice from the same TSModelfile gives the same digest.
        """
        content = msgspec.structs.replace(m, name="", created_at="")
        return "sha256:" + hashlib.sha256(_encoder.encode(content)).hexdigest()

    def manifest_path(self, ref: ModelRef) -> Path:
        return self.manifests_dir / ref.namespace / ref.model / ref.tag

    def list(self) -> list[Manifest]:
        return sorted(self._scan()[0], key=lambda m: m.name)

    def get(self, ref: ModelRef) -> Manifest | None:
        path = self.manifest_path(ref)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            return _decoder.decode(data)
        except msgspec.DecodeError as exc:
            raise IntegrityError(f"the manifest of '{ref.full}' is unreadable ({exc})", model=ref.full) from exc

    def require(self, ref: ModelRef, known: Iterable[str] | None = None) -> Manifest:
        m = self.get(ref)
        if m is not None:
            return m
        hint = f"try `tollama pull {ref.full}`"
        pullable = True
        if known is not None:
            names = list(known)
            if ref.full not in names and ref.name not in names:
                pullable = False
                close = difflib.get_close_matches(ref.full, names, n=1) or difflib.get_close_matches(
                    ref.name, names, n=1
                )
                hint = (
                    f"did you mean '{close[0]}'? try `tollama pull {close[0]}`"
                    if close
                    else "it is not in the catalogue"
                )
        # ``pull``: the name that `tollama pull` fetches (clients branch on it, not on the message).
        raise ModelNotFound(f"model '{ref.full}' not found; {hint}", model=ref.full, pull=ref.full if pullable else None)

    def size(self, m: Manifest) -> int:
        return sum(f.size for f in m.files)

    def has_blob(self, digest: str) -> bool:
        return self.blob_path(digest).is_file()

    def blob_path(self, digest: str) -> Path:
        if not check_digest(digest).startswith("sha256:"):
            raise IntegrityError(f"blobs are addressed by sha256, not {digest!r}", digest=digest)
        return self.blobs_dir / digest.replace(":", "-")

    def partial_path(self, digest: str) -> Path:
        return self.tmp_dir / (check_digest(digest).replace(":", "-") + ".partial")

    # -- writing ---------------------------------------------------------------------------
    def commit_blob(self, partial: Path, digest: str, *, verified: bool = False) -> Path:
        """Move a finished download into ``blobs/`` after checking its sha256.

        ``verified=True`` skips the hash when the caller has just computed it.
        """
        target = self.blob_path(digest)
        if not verified:
            actual, _ = hash_file(partial)
            if actual != digest:
                partial.unlink(missing_ok=True)
                raise IntegrityError(
                    f"downloaded file does not match its digest: expected {digest}, got {actual}",
                    expected=digest,
                    actual=actual,
                )
        with self._locked():
            if target.exists():
                partial.unlink(missing_ok=True)
                return target
            os.chmod(partial, 0o444)
            with partial.open("rb") as f:
                os.fsync(f.fileno())
            try:
                os.replace(partial, target)
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
                staged = self._write_tmp_copy(partial)
                os.replace(staged, target)
                partial.unlink(missing_ok=True)
            _fsync_dir(self.blobs_dir)
        return target

    def put_manifest(self, ref: ModelRef, m: Manifest) -> str:
        m = msgspec.structs.replace(m, name=ref.full)
        seen: set[str] = set()
        for f in m.files:
            check_path(f.path)
            if f.path in seen:
                raise IntegrityError(f"file {f.path!r} is listed twice in '{ref.full}'", path=f.path)
            seen.add(f.path)
        data = _encoder.encode(m)
        with self._locked():
            missing = [f.path for f in m.files if not self.has_blob(f.digest)]
            if missing:
                raise IntegrityError(f"cannot write '{ref.full}': blobs missing for {missing}", missing=missing)
            self._atomic_write(self.manifest_path(ref), data)
        return self.digest(m)

    def snapshot(self, m: Manifest, digest: str | None = None) -> Path:
        """The model's files as a read-only folder (built once). ``digest``: ``m``'s, when the caller has it."""
        target = self.snapshots_dir / (digest or self.digest(m)).split(":", 1)[1]
        if target.is_dir():
            return target
        with self._locked():
            if target.is_dir():
                return target
            build = Path(tempfile.mkdtemp(dir=self.tmp_dir, prefix="snapshot-"))
            try:
                for f in m.files:
                    dest = build.joinpath(*check_path(f.path).parts)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    self._link_or_copy(self.blob_path(f.digest), dest)
                for dirpath, _dirs, _files in os.walk(build, topdown=False):
                    if Path(dirpath) != build:
                        os.chmod(dirpath, 0o555)
                os.rename(build, target)
            except BaseException:
                self._remove_tree(build)
                raise
            os.chmod(target, 0o555)
            _fsync_dir(self.snapshots_dir)
        return target

    def delete(self, ref: ModelRef) -> None:
        with self._locked():
            self.require(ref)
            users = sorted(m.name for m in self._scan()[0] if m.parent == ref.full)
            if users:
                raise Conflict(
                    f"model '{ref.full}' is the base of {', '.join(users)}; delete those first",
                    model=ref.full,
                    dependents=users,
                )
            path = self.manifest_path(ref)
            path.unlink()
            _fsync_dir(path.parent)
            for parent in (path.parent, path.parent.parent):
                with contextlib.suppress(OSError):
                    parent.rmdir()
            self._sweep(stale_after=None)

    def copy(self, src: ModelRef, dst: ModelRef) -> Manifest:
        with self._locked():
            m = self.require(src)
            if src == dst:
                return m
            new = msgspec.structs.replace(m, name=dst.full, created_at=utc_now())
            self.put_manifest(dst, new)
            return new

    def gc(self, *, stale_after: float = 3600.0) -> int:
        """Remove blobs and snapshots no manifest uses and tmp entries older than ``stale_after`` s."""
        with self._locked():
            return self._sweep(stale_after=stale_after)

    @contextlib.contextmanager
    def pin(self, digests: Iterable[str]) -> Iterator[None]:
        """Keep these blobs and partials from gc while a pull is in flight (this process only)."""
        keys = list(digests)
        with self._lock:
            self._pins.update(keys)
        try:
            yield
        finally:
            with self._lock:
                self._pins.subtract(keys)
                self._pins += Counter()

    # -- internals -------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock:
            fd = None
            if self._depth == 0 and fcntl is not None:
                fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
                fcntl.flock(fd, fcntl.LOCK_EX)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if fd is not None:
                    os.close(fd)  # releases the flock

    def _scan(self) -> tuple[builtins.list[Manifest], int]:
        found: builtins.list[Manifest] = []
        broken = 0
        for path in self.manifests_dir.glob("*/*/*"):
            if not path.is_file() or path.name.startswith("."):
                continue
            try:
                m = _decoder.decode(path.read_bytes())
                found.append(msgspec.structs.replace(m, name=parse_name(m.name).full))
            except Exception as exc:  # noqa: BLE001 - a broken manifest must not hide the others
                broken += 1
                log.warning("skipping unreadable manifest %s: %s", path, exc)
        return found, broken

    def _atomic_write(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.tmp_dir, prefix="write-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        _fsync_dir(path.parent)

    def _write_tmp_copy(self, src: Path) -> Path:
        fd, tmp = tempfile.mkstemp(dir=self.tmp_dir, prefix="copy-", suffix=".tmp")
        os.close(fd)
        shutil.copyfile(src, tmp)
        os.chmod(tmp, 0o444)
        return Path(tmp)

    def _link_or_copy(self, blob: Path, dest: Path) -> None:
        try:
            os.link(blob, dest)
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                raise
            shutil.copyfile(blob, dest)
            os.chmod(dest, 0o444)

    def _remove_tree(self, path: Path) -> None:
        """Rename a tree out of the way (atomic disappearance), then delete it."""
        if not path.exists():
            return
        with contextlib.suppress(OSError):
            os.chmod(path, 0o755)
        trash = Path(tempfile.mkdtemp(dir=self.tmp_dir, prefix="trash-")) / "t"
        os.rename(path, trash)
        _make_writable_tree(trash.parent)
        shutil.rmtree(trash.parent, ignore_errors=True)

    def _sweep(self, *, stale_after: float | None) -> int:
        manifests, broken = self._scan()
        freed = 0
        if broken:
            log.warning("gc: %d unreadable manifests, keeping every blob and snapshot", broken)
        else:
            used = {f.digest for m in manifests for f in m.files} | set(self._pins)
            for blob in self.blobs_dir.iterdir():
                if blob.name.replace("-", ":", 1) not in used:
                    freed += blob.stat().st_size
                    blob.unlink()
            snaps = {self.digest(m).split(":", 1)[1] for m in manifests}
            for snap in self.snapshots_dir.iterdir():
                if snap.name not in snaps:
                    freed += sum(p.stat().st_size for p in snap.rglob("*") if p.is_file() and p.stat().st_nlink == 1)
                    self._remove_tree(snap)
        now = time.time()
        for entry in self.tmp_dir.iterdir():
            key = entry.name.removesuffix(".partial").replace("-", ":", 1)
            if entry.name.startswith("trash-"):
                stale = True
            elif stale_after is None or key in self._pins:
                continue
            else:
                stale = now - entry.lstat().st_mtime >= stale_after
            if stale:
                freed += entry.stat().st_size if entry.is_file() else 0
                if entry.is_dir():
                    _make_writable_tree(entry)
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
        return freed
