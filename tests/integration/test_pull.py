"""Pull from a local hub over real sockets: events, resume, integrity, sharing, failures."""

from __future__ import annotations

import asyncio
import hashlib
import random
import socket
import ssl
import stat
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import msgspec
import pytest
from hubserver import HubServer, git_oid, sha256
from tollama.errors import IntegrityError, InvalidRequest, LicenseNotAccepted, ModelNotFound, UpstreamError
from tollama.hub import HubClient
from tollama.names import ModelRef, parse_name
from tollama.pull import Puller, PullEvent
from tollama.store import ModelStore

REPO = "org/tiny-ts"
BIG = random.Random(0).randbytes(300_000)
FILES = {
    "config.json": b'{"model_type": "tiny", "context_length": 64}',
    "model.safetensors": BIG,
    "sub/extra.bin": random.Random(1).randbytes(50_000),
    "sub/notes.txt": b"small file kept in git",
    "sub/config-copy.json": b'{"model_type": "tiny", "context_length": 64}',  # same content twice
    "empty.txt": b"",
}
REF = parse_name("tiny")
_TLS = ssl.create_default_context()  # built once: loading the CA bundle per test is slow


@dataclass(frozen=True)
class Entry:
    name: str = "tiny"
    family: str = "chronos"
    repo: str | None = REPO
    revision: str | None = "main"
    license: str | None = "apache-2.0"
    license_acceptance: bool = False
    files: list[str] | None = None


@pytest.fixture
def hub() -> Iterator[HubServer]:
    with HubServer({REPO: {"main": dict(FILES)}}) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10, verify=_TLS) as client:
        yield client


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    return ModelStore(tmp_path / "models")


def puller_for(store: ModelStore, http: httpx.AsyncClient, endpoint: str, **hub_kw: object) -> Puller:
    return Puller(store, HubClient(http, endpoint=endpoint, **hub_kw), concurrency=4)  # type: ignore[arg-type]


async def collect(puller: Puller, ref: ModelRef = REF, entry: Entry | None = None, **kw: bool) -> list[PullEvent]:
    return [ev async for ev in puller.pull(ref, entry or Entry(), **kw)]


def assert_store_untouched(store: ModelStore) -> None:
    assert store.list() == []
    assert list(store.blobs_dir.iterdir()) == []
    assert list(store.snapshots_dir.iterdir()) == []


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


async def test_pull_events_manifest_and_snapshot(hub: HubServer, http: httpx.AsyncClient, store: ModelStore) -> None:
    events = await collect(puller_for(store, http, hub.endpoint))

    assert events[0] == PullEvent("pulling manifest")
    assert [e.status for e in events[-3:]] == ["verifying sha256 digest", "writing manifest", "success"]
    layers = events[1:-3]
    assert layers
    assert all(e.status == f"pulling {e.digest[7:19]}" for e in layers if e.digest)
    by_digest: dict[str, list[PullEvent]] = {}
    for e in layers:
        assert e.digest is not None
        assert e.total is not None
        assert e.completed is not None
        by_digest.setdefault(e.digest, []).append(e)
    assert set(by_digest) == {digest_of(d) for d in FILES.values()}
    for _digest, evs in by_digest.items():
        done = [e.completed for e in evs]
        assert done == sorted(done)
        assert done[-1] == evs[-1].total
    assert len(by_digest[digest_of(BIG)]) > 3  # several progress events while downloading
    assert msgspec.json.encode(events[0]) == b'{"status":"pulling manifest"}'

    m = store.require(REF)
    assert (m.model, m.family, m.repo, m.revision, m.license) == ("tiny", "chronos", REPO, "main", "apache-2.0")
    assert m.commit == hub.commit(REPO, "main")
    assert {f.path: (f.digest, f.size) for f in m.files} == {p: (digest_of(d), len(d)) for p, d in FILES.items()}
    snap = store.snapshot(m)
    tree = {p.relative_to(snap).as_posix(): p.read_bytes() for p in snap.rglob("*") if p.is_file()}
    assert tree == FILES
    assert all(not stat.S_IMODE(p.stat().st_mode) & 0o222 for p in [snap, *snap.rglob("*")])
    assert list(store.tmp_dir.iterdir()) == []

    lfs = hub.requests("/resolve/")
    assert {r.status for r in lfs if "model.safetensors" in r.path} == {302}
    assert len(hub.requests(f"/cdn/{sha256(BIG)}")) == 1


async def test_second_pull_downloads_nothing(hub: HubServer, http: httpx.AsyncClient, store: ModelStore) -> None:
    puller = puller_for(store, http, hub.endpoint)
    await collect(puller)
    first = len(hub.log)
    events = await collect(puller, parse_name("tiny:again"))
    new = hub.log[first:]
    assert all(r.path.startswith("/api/") for r in new), [r.path for r in new]
    assert all(e.completed == e.total for e in events if e.digest)
    assert store.require(parse_name("tiny:again")).files == store.require(REF).files


async def test_resume_after_a_dropped_connection(hub: HubServer, http: httpx.AsyncClient, store: ModelStore) -> None:
    hub.drop_after["model.safetensors"] = 100_000
    await collect(puller_for(store, http, hub.endpoint))
    cdn = hub.requests(f"/cdn/{sha256(BIG)}")
    assert len(cdn) == 2
    assert cdn[0].header("Range") is None
    assert cdn[0].sent == 100_000
    assert cdn[1].header("Range") == "bytes=100000-"
    assert cdn[1].status == 206
    assert cdn[1].sent == len(BIG) - 100_000
    assert store.blob_path(digest_of(BIG)).read_bytes() == BIG


async def test_failed_pull_resumes_on_the_next_pull(hub: HubServer, http: httpx.AsyncClient, store: ModelStore) -> None:
    hub.drop_after["model.safetensors"] = 120_000
    with pytest.raises(UpstreamError, match=r"127\.0\.0\.1"):
        await collect(puller_for(store, http, hub.endpoint, retries=0))
    assert_store_untouched(store)
    assert store.partial_path(digest_of(BIG)).stat().st_size == 120_000

    await collect(puller_for(store, http, hub.endpoint, retries=0))
    cdn = hub.requests(f"/cdn/{sha256(BIG)}")
    assert [r.header("Range") for r in cdn] == [None, "bytes=120000-"]
    assert cdn[-1].sent == len(BIG) - 120_000
    assert store.require(REF)
    assert not store.partial_path(digest_of(BIG)).exists()


async def test_server_that_ignores_range(hub: HubServer, http: httpx.AsyncClient, store: ModelStore) -> None:
    hub.drop_after["model.safetensors"] = 100_000
    hub.ignore_range = True
    events = await collect(puller_for(store, http, hub.endpoint))
    cdn = hub.requests(f"/cdn/{sha256(BIG)}")
    assert [r.status for r in cdn] == [200, 200]
    assert cdn[1].sent == len(BIG)
    assert store.blob_path(digest_of(BIG)).read_bytes() == BIG
    assert events[-1].status == "success"


@pytest.mark.parametrize("path", ["model.safetensors", "sub/notes.txt"])
async def test_corrupted_file_is_rejected(
    hub: HubServer, http: httpx.AsyncClient, store: ModelStore, path: str
) -> None:
    hub.corrupt.add(path)
    with pytest.raises(IntegrityError, match="does not match"):
        await collect(puller_for(store, http, hub.endpoint))
    assert_store_untouched(store)
    bad = digest_of(FILES[path]) if path.endswith(".safetensors") else "sha1:" + git_oid(FILES[path])
    assert not store.partial_path(bad).exists()
    hub.corrupt.clear()
    await collect(puller_for(store, http, hub.endpoint))
    assert store.require(REF)


async def test_concurrent_pulls_share_one_download(hub: HubServer, http: httpx.AsyncClient, store: ModelStore) -> None:
    hub.gate = threading.Event()
    puller = puller_for(store, http, hub.endpoint)
    first_seen = asyncio.Event()
    a_events: list[PullEvent] = []

    async def consume_a() -> None:
        async for ev in puller.pull(REF, Entry()):
            a_events.append(ev)
            first_seen.set()

    task_a = asyncio.create_task(consume_a())
    await first_seen.wait()  # A is running and blocked on the hub's gate
    task_b = asyncio.create_task(collect(puller, parse_name("TINY:latest")))
    await asyncio.sleep(0)
    hub.gate.set()
    await task_a
    b_events = await task_b

    assert a_events[0].status == "pulling manifest"
    assert b_events
    assert b_events[-1].status == "success"
    assert a_events[-len(b_events) :] == b_events  # B saw A's events from where it joined
    fetched = [r.path for r in hub.requests("/resolve/")]
    assert sorted(set(fetched)) == sorted(fetched)  # each file once
    assert len(fetched) == len({d for d in FILES.values() if d})  # same content once; empty file never
    assert len(hub.requests("/tree/")) == 1


async def test_licence_is_refused_before_any_request(
    hub: HubServer, http: httpx.AsyncClient, store: ModelStore
) -> None:
    gated = Entry(license="cc-by-nc-4.0", license_acceptance=True)
    with pytest.raises(LicenseNotAccepted, match=r"cc-by-nc-4\.0") as info:
        await collect(puller_for(store, http, hub.endpoint), entry=gated)
    assert info.value.code == "license_not_accepted"
    assert hub.log == []
    await collect(puller_for(store, http, hub.endpoint), entry=gated, accept_license=True)
    assert store.require(REF).license == "cc-by-nc-4.0"


async def test_hub_unreachable(http: httpx.AsyncClient, store: ModelStore) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(UpstreamError, match=r"cannot reach the model hub at 127\.0\.0\.1") as info:
        await collect(puller_for(store, http, f"http://127.0.0.1:{port}"))
    assert info.value.code == "upstream_error"
    assert_store_untouched(store)


@pytest.mark.parametrize(
    ("entry", "match"),
    [
        (Entry(repo="org/missing"), "org/missing"),
        (Entry(revision="v9"), "v9"),
        (Entry(files=["*.onnx"]), r"\*\.onnx"),
    ],
)
async def test_not_found(hub: HubServer, http: httpx.AsyncClient, store: ModelStore, entry: Entry, match: str) -> None:
    with pytest.raises(ModelNotFound, match=match):
        await collect(puller_for(store, http, hub.endpoint), entry=entry)
    assert_store_untouched(store)


async def test_file_patterns_select_files(hub: HubServer, http: httpx.AsyncClient, store: ModelStore) -> None:
    await collect(puller_for(store, http, hub.endpoint), entry=Entry(files=["*.json", "sub/*.bin"]))
    # fnmatch semantics, as huggingface_hub's allow_patterns: "*" also crosses "/"
    assert [f.path for f in store.require(REF).files] == ["config.json", "sub/config-copy.json", "sub/extra.bin"]
    assert hub.requests("model.safetensors") == []


async def test_server_error_is_upstream_error(hub: HubServer, http: httpx.AsyncClient, store: ModelStore) -> None:
    hub.status["sub/extra.bin"] = 500
    with pytest.raises(UpstreamError, match="HTTP 500"):
        await collect(puller_for(store, http, hub.endpoint))
    assert_store_untouched(store)


async def test_token_is_sent_to_the_hub_only(hub: HubServer, http: httpx.AsyncClient, store: ModelStore) -> None:
    hub.token = "hf_secret"
    hub.cdn_host = "localhost"  # another host: the token must not follow the redirect
    with pytest.raises(UpstreamError, match="HF_TOKEN") as info:
        await collect(puller_for(store, http, hub.endpoint))
    assert info.value.details["status"] == 401
    await collect(puller_for(store, http, hub.endpoint, token="hf_secret"))
    assert store.require(REF)
    api = [r for r in hub.log if not r.path.startswith("/cdn/") and r.status != 401]
    assert api
    assert all(r.header("Authorization") == "Bearer hf_secret" for r in api)
    cdn = hub.requests("/cdn/")
    assert cdn
    assert all(r.header("Authorization") is None for r in cdn)


async def test_cancelled_pull_leaves_no_manifest(hub: HubServer, http: httpx.AsyncClient, store: ModelStore) -> None:
    hub.gate = threading.Event()
    puller = puller_for(store, http, hub.endpoint)
    stream = puller.pull(REF, Entry())
    assert (await anext(stream)).status == "pulling manifest"
    job = puller._jobs[REF.full]
    await stream.aclose()  # the only listener leaves: the job is cancelled
    assert job.task is not None
    await asyncio.wait([job.task])
    assert job.task.cancelled()
    assert REF.full not in puller._jobs
    assert_store_untouched(store)


async def test_repull_at_a_new_revision_collects_old_blobs(
    hub: HubServer, http: httpx.AsyncClient, store: ModelStore
) -> None:
    await collect(puller_for(store, http, hub.endpoint))
    hub.repos[REPO]["v2"] = {**FILES, "model.safetensors": BIG[::-1]}
    await collect(puller_for(store, http, hub.endpoint), entry=replace(Entry(), revision="v2"))
    m = store.require(REF)
    assert m.revision == "v2"
    assert not store.has_blob(digest_of(BIG))
    assert store.has_blob(digest_of(BIG[::-1]))


@pytest.mark.parametrize("fault", ["closed port", "missing repo", "bad token"])
async def test_hub_failures_come_before_the_first_event(
    hub: HubServer, http: httpx.AsyncClient, store: ModelStore, fault: str
) -> None:
    endpoint, entry = hub.endpoint, Entry()
    if fault == "closed port":
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            endpoint = f"http://127.0.0.1:{s.getsockname()[1]}"
    elif fault == "missing repo":
        entry = Entry(repo="org/missing")
    else:
        hub.token = "hf_secret"
    stream = puller_for(store, http, endpoint).pull(REF, entry)
    with pytest.raises((UpstreamError, ModelNotFound)):
        await anext(stream)


async def test_entry_without_repo_is_refused(http: httpx.AsyncClient, store: ModelStore) -> None:
    with pytest.raises(InvalidRequest, match="no repository"):
        await collect(puller_for(store, http, "http://127.0.0.1:9"), entry=Entry(repo=None))
