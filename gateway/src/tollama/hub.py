"""A client for the Hugging Face Hub protocol (or any hub that speaks it).

Three calls, as huggingface_hub makes them:

- ``GET {endpoint}/api/models/{repo}/revision/{revision}`` → ``{"sha": <commit>, ...}``
- ``GET {endpoint}/api/models/{repo}/tree/{commit}?recursive=true`` → ``[{type, path, size, oid,
  lfs: {oid, size}}]``, paginated with ``Link: <...>; rel="next"``
- ``GET {endpoint}/{repo}/resolve/{commit}/{path}`` → the bytes, usually through a redirect to a
  CDN for LFS files; resumed with ``Range: bytes=N-``.

LFS files are checked against their sha256 (``lfs.oid``); small files that live in git are
checked against their git blob id (sha1 of ``b"blob <size>\\0" + content``) and stored under
their sha256 like everything else. Transport and HTTP failures are translated here, once,
into :mod:`tollama.errors` types (see :func:`_translate`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import msgspec

from tollama.errors import ModelNotFound, UpstreamError
from tollama.settings import Settings
from tollama.store import check_digest, check_path

#: ``progress(completed_bytes)`` — absolute, so a server that ignores Range can reset it.
Progress = Callable[[int], None]


class RemoteFile(msgspec.Struct, frozen=True):
    path: str
    size: int
    sha256: str | None = None  # "sha256:<hex>" for LFS files
    git_oid: str | None = None  # "sha1:<hex>" git blob id for files stored in git

    @property
    def key(self) -> str:
        """The digest the download is addressed by (its partial file name)."""
        return self.sha256 or self.git_oid or ""


class RepoListing(msgspec.Struct, frozen=True):
    repo: str
    revision: str
    commit: str
    files: list[RemoteFile]


class _Lfs(msgspec.Struct):
    oid: str
    size: int


class _TreeEntry(msgspec.Struct):
    type: str
    path: str
    size: int = 0
    oid: str | None = None
    lfs: _Lfs | None = None


class _RevisionInfo(msgspec.Struct):
    sha: str


_tree_decoder = msgspec.json.Decoder(list[_TreeEntry])
_revision_decoder = msgspec.json.Decoder(_RevisionInfo)


class HubClient:
    def __init__(self, client: httpx.AsyncClient, *, endpoint: str, token: str = "", retries: int = 3) -> None:
        self._client = client
        self.endpoint = endpoint.rstrip("/")
        self._token = token
        self.retries = retries

    @classmethod
    def from_settings(cls, client: httpx.AsyncClient, settings: Settings) -> HubClient:
        return cls(client, endpoint=settings.hf_endpoint, token=settings.hf_token)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"} if self._token else {}

    async def resolve(self, repo: str, revision: str) -> str:
        """The commit sha that ``revision`` (branch, tag or sha) points at."""
        url = f"{self.endpoint}/api/models/{repo}/revision/{quote(revision, safe='')}"
        with _translate(url, f"{repo}@{revision}"):
            resp = await self._client.get(url, headers=self._headers(), follow_redirects=True)
            _check(resp, f"{repo}@{revision}")
        try:
            return _revision_decoder.decode(resp.content).sha
        except msgspec.DecodeError as exc:
            raise UpstreamError(f"the hub answered {url} with an unexpected body: {exc}", host=_host(url)) from exc

    async def list_files(self, repo: str, revision: str) -> RepoListing:
        commit = await self.resolve(repo, revision)
        url: str | None = f"{self.endpoint}/api/models/{repo}/tree/{quote(commit, safe='')}?recursive=true"
        files: list[RemoteFile] = []
        while url:
            with _translate(url, f"{repo}@{revision}"):
                resp = await self._client.get(url, headers=self._headers(), follow_redirects=True)
                _check(resp, f"{repo}@{revision}")
            try:
                entries = _tree_decoder.decode(resp.content)
            except msgspec.DecodeError as exc:
                raise UpstreamError(f"the hub answered {url} with an unexpected body: {exc}", host=_host(url)) from exc
            for e in entries:
                if e.type != "file":
                    continue
                check_path(e.path)
                if e.lfs is not None:
                    files.append(RemoteFile(e.path, e.lfs.size, sha256=check_digest(f"sha256:{e.lfs.oid}")))
                elif e.oid is not None:
                    files.append(RemoteFile(e.path, e.size, git_oid=check_digest(f"sha1:{e.oid}")))
                else:
                    raise UpstreamError(f"the hub listed {e.path!r} without a digest", host=_host(url))
            nxt = resp.links.get("next", {}).get("url")
            url = str(resp.url.join(nxt)) if nxt else None
        return RepoListing(repo=repo, revision=revision, commit=commit, files=sorted(files, key=lambda f: f.path))

    def file_url(self, repo: str, commit: str, path: str) -> str:
        return f"{self.endpoint}/{repo}/resolve/{quote(commit, safe='')}/{quote(path)}"

    async def download(self, repo: str, commit: str, file: RemoteFile, dest: Path, progress: Progress) -> None:
        """Fetch ``file`` into ``dest``, resuming what is there; retry while attempts make progress."""
        attempts = 0
        while True:
            before = dest.stat().st_size if dest.exists() else 0
            try:
                await self._download_once(repo, commit, file, dest, progress)
                return
            except UpstreamError:
                after = dest.stat().st_size if dest.exists() else 0
                attempts += 1
                if after <= before or attempts > self.retries:
                    raise

    async def _download_once(self, repo: str, commit: str, file: RemoteFile, dest: Path, progress: Progress) -> None:
        if not dest.exists():
            dest.touch()
        have = dest.stat().st_size
        if have > file.size:
            dest.write_bytes(b"")
            have = 0
        progress(have)
        if have == file.size:
            return
        url = self.file_url(repo, commit, file.path)
        headers = {**self._headers(), "Accept-Encoding": "identity"}
        if have:
            headers["Range"] = f"bytes={have}-"
        what = f"{repo}@{commit}/{file.path}"
        with _translate(url, what):
            async with self._client.stream("GET", url, headers=headers, follow_redirects=True) as resp:
                if resp.status_code == 416 and have:
                    dest.unlink()  # our partial does not fit the remote file: start over next attempt
                    raise UpstreamError(f"the hub refused to resume {what}", host=_host(url))
                _check(resp, what)
                mode = "ab"
                if resp.status_code != 206:
                    mode, have = "wb", 0  # the server ignored Range: start from the beginning
                    progress(0)
                elif not resp.headers.get("Content-Range", "").startswith(f"bytes {have}-"):
                    raise UpstreamError(f"the hub answered a resume of {what} with the wrong range", host=_host(url))
                with dest.open(mode) as f:
                    async for chunk in _chunks(resp):
                        f.write(chunk)
                        have += len(chunk)
                        if have > file.size:
                            raise UpstreamError(f"{what} is larger than the {file.size} bytes listed", host=_host(url))
                        progress(have)
        if have != file.size:
            raise UpstreamError(f"{what} ended after {have} of {file.size} bytes", host=_host(url))


async def _chunks(resp: httpx.Response) -> AsyncIterator[bytes]:
    async for chunk in resp.aiter_bytes():
        yield chunk


def _host(url: str) -> str:
    return httpx.URL(url).host


def _check(resp: httpx.Response, what: str) -> None:
    code = resp.status_code
    if code < 400:
        return
    host = resp.url.host
    if code in (401, 403):
        raise UpstreamError(
            f"the model hub at {host} refused access to {what} ({code}); "
            "set HF_TOKEN to a token that may read this repository (and accept its terms on the hub)",
            host=host,
            status=code,
        )
    if code == 404:
        raise ModelNotFound(f"{what} was not found on the model hub at {host}", host=host)
    raise UpstreamError(f"the model hub at {host} failed for {what}: HTTP {code}", host=host, status=code)


@contextlib.contextmanager
def _translate(url: str, what: str) -> Iterator[None]:
    """Map httpx transport errors to UpstreamError, naming the host and the reason."""
    host = _host(url)
    try:
        yield
    except httpx.TimeoutException as exc:
        raise UpstreamError(f"the model hub at {host} timed out fetching {what}: {exc!r}", host=host) from exc
    except httpx.TransportError as exc:
        reason = str(exc) or type(exc).__name__
        raise UpstreamError(f"cannot reach the model hub at {host} for {what}: {reason}", host=host) from exc
    except httpx.HTTPError as exc:
        raise UpstreamError(f"the model hub at {host} failed for {what}: {exc}", host=host) from exc
