"""The pull coordinator: hub listing → parallel, resumable downloads → verify → blobs → manifest.

Progress is a stream of :class:`PullEvent` in Ollama's shape and order::

    {"status": "pulling manifest"}
    {"status": "pulling 1f2e3d4c5b6a", "digest": "sha256:...", "total": 123, "completed": 0}   (many)
    {"status": "verifying sha256 digest"}
    {"status": "writing manifest"}
    {"status": "success"}

``pulling manifest`` is sent once the repository is listed (so a hub that is down, refuses
the token or lacks the repo fails before any event); the small files kept in git (configs)
are fetched next, because only their git sha1 is known up front and every file is
reported and stored by sha256. Large (LFS) files then download in parallel, resuming from
``tmp/`` partials. Nothing reaches ``blobs/`` until every file has been verified, and the
manifest is written last, so a failed or cancelled pull leaves no manifest and no new blob
(only partials, kept for resume). Two pulls of one name share one job: the second caller
subscribes to the running job's events from the current point on.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Protocol

import msgspec

from tollama.errors import IntegrityError, InternalError, InvalidRequest, LicenseNotAccepted, ModelNotFound
from tollama.hub import HubClient, RemoteFile
from tollama.names import ModelRef
from tollama.store import FileEntry, Manifest, ModelStore, hash_file, utc_now


class PullSource(Protocol):
    """What pull needs from a catalogue entry (registry.yaml)."""

    @property
    def name(self) -> str: ...
    @property
    def family(self) -> str: ...
    @property
    def repo(self) -> str | None: ...
    @property
    def revision(self) -> str | None: ...
    @property
    def license(self) -> str | None: ...
    @property
    def license_acceptance(self) -> bool: ...
    @property
    def files(self) -> Sequence[str] | None: ...


class PullEvent(msgspec.Struct, omit_defaults=True):
    status: str
    digest: str | None = None
    total: int | None = None
    completed: int | None = None


class _Done(msgspec.Struct):
    error: BaseException | None = None


class _Job:
    def __init__(self) -> None:
        self.queues: list[asyncio.Queue[PullEvent | _Done]] = []
        self.task: asyncio.Task[None] | None = None

    def subscribe(self) -> asyncio.Queue[PullEvent | _Done]:
        q: asyncio.Queue[PullEvent | _Done] = asyncio.Queue()
        self.queues.append(q)
        return q

    def publish(self, item: PullEvent | _Done) -> None:
        for q in self.queues:
            q.put_nowait(item)


def select_files(files: Sequence[RemoteFile], patterns: Sequence[str] | None) -> list[RemoteFile]:
    if patterns is None:
        return list(files)
    return [f for f in files if any(fnmatch.fnmatchcase(f.path, p) for p in patterns)]


class Puller:
    def __init__(self, store: ModelStore, hub: HubClient, *, concurrency: int = 4) -> None:
        self.store = store
        self.hub = hub
        self.concurrency = max(1, concurrency)
        self._jobs: dict[str, _Job] = {}

    async def pull(self, ref: ModelRef, entry: PullSource, *, accept_license: bool = False) -> AsyncIterator[PullEvent]:
        if entry.license_acceptance and not accept_license:
            raise LicenseNotAccepted(
                f"model '{ref.full}' is distributed under the {entry.license or 'upstream'} licence, which must be "
                "accepted before pulling: read it, then pull again with accept_license (CLI: --accept-license)",
                model=ref.full,
                license=entry.license,
            )
        job = self._jobs.get(ref.full)
        if job is None:
            job = self._jobs[ref.full] = _Job()
            job.task = asyncio.create_task(self._run(job, ref, entry), name=f"pull {ref.full}")
        queue = job.subscribe()
        try:
            while True:
                item = await queue.get()
                if isinstance(item, _Done):
                    if item.error is not None:
                        raise item.error
                    return
                yield item
        finally:
            job.queues.remove(queue)
            if not job.queues and job.task is not None and not job.task.done():
                job.task.cancel()  # the last listener left: stop downloading (partials stay for resume)

    async def _run(self, job: _Job, ref: ModelRef, entry: PullSource) -> None:
        error: BaseException | None = None
        try:
            await self._pull(job.publish, ref, entry)
        except asyncio.CancelledError:
            error = InternalError(f"the pull of '{ref.full}' was cancelled", model=ref.full)
            raise
        except Exception as exc:  # noqa: BLE001 - handed to every subscriber, who raises it
            error = exc
        finally:
            if self._jobs.get(ref.full) is job:
                del self._jobs[ref.full]
            job.publish(_Done(error))

    async def _pull(self, emit: Callable[[PullEvent], None], ref: ModelRef, entry: PullSource) -> None:
        store = self.store
        if not entry.repo:
            raise InvalidRequest(f"model '{ref.full}' has no repository to pull from", model=ref.full)
        revision = entry.revision or "main"
        listing = await self.hub.list_files(entry.repo, revision)
        # Emitted once the listing is in: a hub that is down, refuses the token or lacks the
        # repo fails the first step of the stream, so a server can answer with its status.
        emit(PullEvent("pulling manifest"))
        files = select_files(listing.files, entry.files)
        if not files:
            raise ModelNotFound(f"no files of {entry.repo}@{revision} match {list(entry.files or [])}", repo=entry.repo)
        known = await asyncio.to_thread(self._known_files, entry.repo, listing.commit)
        limit = asyncio.Semaphore(self.concurrency)
        with contextlib.ExitStack() as pins:
            pins.enter_context(store.pin(f.key for f in files))
            digests: dict[str, str] = {}  # path -> sha256 digest
            staged: dict[str, Path] = {}  # sha256 digest -> verified partial waiting for commit

            small: dict[str, RemoteFile] = {}  # git blob id -> one file with that content
            for f in files:
                hit = known.get(f.path)
                if f.sha256 is not None:
                    digests[f.path] = f.sha256
                elif hit is not None and hit.size == f.size and store.has_blob(hit.digest):
                    digests[f.path] = hit.digest
                else:
                    small.setdefault(f.key, f)

            async def fetch_small(f: RemoteFile) -> None:
                partial = store.partial_path(f.key)
                async with limit:
                    await self.hub.download(listing.repo, listing.commit, f, partial, lambda _n: None)
                sha256, sha1 = await asyncio.to_thread(hash_file, partial, git_blob=True)
                if sha1 != f.git_oid:
                    partial.unlink(missing_ok=True)
                    raise IntegrityError(f"{f.path} does not match its git blob id {f.git_oid} (got {sha1})")
                pins.enter_context(store.pin([sha256]))
                staged[sha256] = partial
                for same in files:
                    if same.git_oid == f.git_oid:
                        digests[same.path] = sha256

            await _all(fetch_small(f) for f in small.values())

            large: dict[str, RemoteFile] = {}  # one download per distinct content
            for f in files:
                d = digests[f.path]
                if f.sha256 is not None and not store.has_blob(d):
                    large.setdefault(d, f)
                else:
                    emit(PullEvent(f"pulling {d[7:19]}", digest=d, total=f.size, completed=f.size))

            async def fetch_large(d: str, f: RemoteFile) -> None:
                partial = store.partial_path(d)
                step, last = max(f.size // 100, 1), -1

                def progress(n: int) -> None:
                    nonlocal last
                    if last < 0 or n == f.size or abs(n - last) >= step:
                        last = n
                        emit(PullEvent(f"pulling {d[7:19]}", digest=d, total=f.size, completed=n))

                async with limit:
                    await self.hub.download(listing.repo, listing.commit, f, partial, progress)

            await _all(fetch_large(d, f) for d, f in large.items())

            emit(PullEvent("verifying sha256 digest"))

            async def verify(d: str, f: RemoteFile) -> None:
                partial = store.partial_path(d)
                async with limit:
                    actual, _ = await asyncio.to_thread(hash_file, partial)
                if actual != d:
                    partial.unlink(missing_ok=True)
                    raise IntegrityError(
                        f"{f.path} from {listing.repo} does not match its digest: expected {d}, got {actual}",
                        expected=d,
                        actual=actual,
                        path=f.path,
                    )
                staged[d] = partial

            await _all(verify(d, f) for d, f in large.items())

            manifest = Manifest(
                name=ref.full,
                model=entry.name,
                family=entry.family,
                files=[FileEntry(f.path, digests[f.path], f.size) for f in files],
                repo=listing.repo,
                revision=revision,
                commit=listing.commit,
                license=entry.license,
                created_at=utc_now(),
            )
            emit(PullEvent("writing manifest"))
            await asyncio.to_thread(self._commit, ref, manifest, staged)
        emit(PullEvent("success"))

    def _commit(self, ref: ModelRef, manifest: Manifest, staged: dict[str, Path]) -> None:
        for digest, partial in staged.items():
            self.store.commit_blob(partial, digest, verified=True)
        old = self.store.get(ref)
        self.store.put_manifest(ref, manifest)
        if old is not None and self.store.digest(old) != self.store.digest(manifest):
            self.store.gc()  # the replaced manifest's blobs may now be unused

    def _known_files(self, repo: str, commit: str) -> dict[str, FileEntry]:
        """Files of an installed manifest at the same commit: their content is already known."""
        return {f.path: f for m in self.store.list() if m.repo == repo and m.commit == commit for f in m.files}


async def _all(coros: Iterable[Awaitable[None]]) -> None:
    """Run concurrently; the first failure cancels the rest (TaskGroup) and is raised alone."""
    try:
        async with asyncio.TaskGroup() as tg:
            for c in coros:
                tg.create_task(_wrap(c))
    except BaseExceptionGroup as group:
        raise _first(group) from None


async def _wrap(aw: Awaitable[None]) -> None:
    await aw


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            return _first(exc)
        if not isinstance(exc, asyncio.CancelledError):
            return exc
    return group.exceptions[0]
