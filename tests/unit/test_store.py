"""The model store: content addressing, atomic writes, snapshots, delete/copy/gc."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import msgspec
import pytest
from tollama import store as store_module
from tollama.errors import Conflict, IntegrityError, ModelNotFound
from tollama.names import parse_name
from tollama.store import FileEntry, Manifest, ModelStore


def add_blob(store: ModelStore, data: bytes) -> FileEntry:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    partial = store.partial_path(digest)
    partial.write_bytes(data)
    store.commit_blob(partial, digest)
    return FileEntry(path="", digest=digest, size=len(data))


def make_manifest(store: ModelStore, name: str, files: dict[str, bytes], **kw: object) -> Manifest:
    entries = [msgspec.structs.replace(add_blob(store, data), path=path) for path, data in files.items()]
    model = name.split(":", maxsplit=1)[0]
    return Manifest(name=name, model=model, family="chronos", files=entries, created_at="2026-01-01T00:00:00Z", **kw)  # type: ignore[arg-type]


def install(store: ModelStore, name: str, files: dict[str, bytes], **kw: object) -> Manifest:
    m = make_manifest(store, name, files, **kw)
    store.put_manifest(parse_name(name), m)
    return m


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    return ModelStore(tmp_path / "models")


def test_layout_and_roundtrip(store: ModelStore) -> None:
    m = install(store, "alice/m:v1", {"config.json": b"{}", "weights/model.bin": b"x" * 100})
    assert (store.root / "manifests" / "alice" / "m" / "v1").is_file()
    assert {p.name for p in (store.root / "blobs").iterdir()} == {
        "sha256-" + hashlib.sha256(b"{}").hexdigest(),
        "sha256-" + hashlib.sha256(b"x" * 100).hexdigest(),
    }
    got = store.get(parse_name("Alice/M:V1"))
    assert got == m
    assert store.size(m) == 102
    assert [x.name for x in store.list()] == ["alice/m:v1"]
    assert store.digest(m) == store.digest(got)
    assert store.digest(m).startswith("sha256:")


def test_digest_is_canonical(store: ModelStore) -> None:
    a = make_manifest(store, "m:latest", {"a": b"1"}, parameters={"b": 1, "a": 2})
    b = make_manifest(store, "m:latest", {"a": b"1"}, parameters={"a": 2, "b": 1})
    assert store.digest(a) == store.digest(b)
    assert store.digest(a) != store.digest(msgspec.structs.replace(a, family="timesfm"))


def test_commit_blob_rejects_a_mismatch_and_deletes_the_partial(store: ModelStore) -> None:
    digest = "sha256:" + hashlib.sha256(b"good").hexdigest()
    partial = store.partial_path(digest)
    partial.write_bytes(b"evil")
    with pytest.raises(IntegrityError, match="does not match"):
        store.commit_blob(partial, digest)
    assert not partial.exists()
    assert not store.has_blob(digest)
    assert list((store.root / "blobs").iterdir()) == []


def test_blobs_are_read_only(store: ModelStore) -> None:
    entry = add_blob(store, b"data")
    assert stat.S_IMODE(store.blob_path(entry.digest).stat().st_mode) == 0o444


def test_malformed_digests_never_become_paths(store: ModelStore) -> None:
    for bad in ("sha256:../../etc/passwd", "md5:abc", "sha256:" + "A" * 64, "sha256-" + "a" * 64):
        with pytest.raises(IntegrityError):
            store.blob_path(bad)


def test_put_manifest_requires_every_blob(store: ModelStore) -> None:
    m = Manifest(
        name="m:latest",
        model="m",
        family="chronos",
        files=[FileEntry("a.bin", "sha256:" + "0" * 64, 1)],
        created_at="2026-01-01T00:00:00Z",
    )
    with pytest.raises(IntegrityError, match="blobs missing"):
        store.put_manifest(parse_name("m"), m)
    assert store.list() == []


@pytest.mark.parametrize("path", ["../x", "/etc/passwd", "a/../../b", "a\\b", "", "a//b", "./a"])
def test_unsafe_file_paths_are_refused(store: ModelStore, path: str) -> None:
    entry = add_blob(store, b"z")
    m = Manifest(
        name="m:latest", model="m", family="f", files=[msgspec.structs.replace(entry, path=path)], created_at="t"
    )
    with pytest.raises(IntegrityError, match="unsafe file path"):
        store.put_manifest(parse_name("m"), m)


def test_require_hints(store: ModelStore) -> None:
    with pytest.raises(ModelNotFound, match=r"model 'chronos:latest' not found; try `tollama pull chronos:latest`"):
        store.require(parse_name("chronos"))
    with pytest.raises(ModelNotFound, match=r"did you mean 'chronos-bolt-small'"):
        store.require(parse_name("chronos-bolt-smal"), known=["chronos-bolt-small", "timesfm-2.0"])
    with pytest.raises(ModelNotFound, match="not in the catalogue"):
        store.require(parse_name("zzz"), known=["chronos-bolt-small"])


def test_snapshot_mirrors_the_repo_layout_read_only(store: ModelStore) -> None:
    files = {"config.json": b"{}", "sub/dir/model.safetensors": b"w" * 64, "sub/readme.md": b"hi"}
    m = install(store, "m:latest", files)
    snap = store.snapshot(m)
    assert snap == store.root / "snapshots" / store.digest(m).split(":")[1]
    found = {p.relative_to(snap).as_posix(): p.read_bytes() for p in snap.rglob("*") if p.is_file()}
    assert found == files
    for p in [snap, *snap.rglob("*")]:
        mode = stat.S_IMODE(p.stat().st_mode)
        assert not mode & 0o222, p
    blob = store.blob_path(m.files[0].digest)
    assert os.path.samefile(snap / m.files[0].path, blob)  # hard link, no copy
    assert store.snapshot(m) == snap  # built once
    assert [p.name for p in (store.root / "tmp").iterdir()] == []


def test_snapshot_falls_back_to_copies(store: ModelStore, monkeypatch: pytest.MonkeyPatch) -> None:
    m = install(store, "m:latest", {"a.bin": b"abc"})

    def no_links(src: object, dst: object) -> None:
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(store_module.os, "link", no_links)
    snap = store.snapshot(m)
    assert (snap / "a.bin").read_bytes() == b"abc"
    assert (snap / "a.bin").stat().st_nlink == 1


def test_interrupted_manifest_write_keeps_the_old_manifest(store: ModelStore, monkeypatch: pytest.MonkeyPatch) -> None:
    old = install(store, "m:latest", {"a": b"old"})
    new = make_manifest(store, "m:latest", {"a": b"new"})

    def crash(fd: int) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(store_module.os, "fsync", crash)
    with pytest.raises(OSError, match="disk gone"):
        store.put_manifest(parse_name("m"), new)
    monkeypatch.undo()
    assert store.get(parse_name("m")) == old
    assert [p.name for p in (store.root / "tmp").iterdir()] == []


def test_interrupted_snapshot_leaves_nothing(store: ModelStore, monkeypatch: pytest.MonkeyPatch) -> None:
    m = install(store, "m:latest", {"a": b"1", "b": b"2"})
    calls = []

    def flaky_link(src: object, dst: object) -> None:
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(5, "I/O error")
        os_link(src, dst)  # type: ignore[arg-type]

    os_link = os.link
    monkeypatch.setattr(store_module.os, "link", flaky_link)
    with pytest.raises(OSError, match="I/O error"):
        store.snapshot(m)
    monkeypatch.undo()
    assert list((store.root / "snapshots").iterdir()) == []
    assert list((store.root / "tmp").iterdir()) == []


def test_delete_collects_only_unshared_blobs(store: ModelStore) -> None:
    a = install(store, "a:latest", {"shared.bin": b"shared", "only-a.bin": b"a"})
    b = install(store, "b:latest", {"shared.bin": b"shared", "only-b.bin": b"b"})
    snap_a = store.snapshot(a)
    store.snapshot(b)
    store.delete(parse_name("a"))
    assert store.get(parse_name("a")) is None
    assert not snap_a.exists()
    assert store.has_blob(b.files[0].digest) or store.has_blob(b.files[1].digest)
    for f in b.files:
        assert store.has_blob(f.digest)
    assert not store.has_blob(next(f.digest for f in a.files if f.path == "only-a.bin"))
    assert not (store.root / "manifests" / "library" / "a").exists()
    store.delete(parse_name("b"))
    assert list((store.root / "blobs").iterdir()) == []
    assert list((store.root / "snapshots").iterdir()) == []
    with pytest.raises(ModelNotFound):
        store.delete(parse_name("b"))


def test_delete_refuses_a_base_in_use(store: ModelStore) -> None:
    install(store, "base:latest", {"w": b"w"})
    install(store, "mine:latest", {"w": b"w"}, parent="base:latest")
    with pytest.raises(Conflict, match="mine:latest") as info:
        store.delete(parse_name("base"))
    assert info.value.details["dependents"] == ["mine:latest"]
    store.delete(parse_name("mine"))
    store.delete(parse_name("base"))


def test_copy_shares_blobs(store: ModelStore) -> None:
    src = install(store, "src:latest", {"w.bin": b"weights" * 100})
    blobs_before = sorted(p.name for p in (store.root / "blobs").iterdir())
    dst = store.copy(parse_name("src"), parse_name("alice/dst:v2"))
    assert dst.name == "alice/dst:v2"
    assert dst.files == src.files
    assert sorted(p.name for p in (store.root / "blobs").iterdir()) == blobs_before
    store.delete(parse_name("src"))
    assert store.has_blob(src.files[0].digest)  # still used by the copy
    with pytest.raises(ModelNotFound):
        store.copy(parse_name("nope"), parse_name("x"))


def test_gc_removes_orphans_and_stale_partials_but_not_pins(store: ModelStore) -> None:
    install(store, "m:latest", {"w": b"keep"})
    orphan = add_blob(store, b"orphan")
    pinned = add_blob(store, b"pinned")
    stale = store.partial_path("sha256:" + "1" * 64)
    stale.write_bytes(b"12345")
    busy = store.partial_path("sha1:" + "2" * 40)
    busy.write_bytes(b"123")
    with store.pin([pinned.digest, "sha1:" + "2" * 40]):
        freed = store.gc(stale_after=0)
        assert store.has_blob(pinned.digest)
        assert busy.exists()
    assert freed == len(b"orphan") + 5
    assert not store.has_blob(orphan.digest)
    assert not stale.exists()
    assert store.gc(stale_after=0) == len(b"pinned") + 3
    assert len(list((store.root / "blobs").iterdir())) == 1


def test_gc_keeps_fresh_partials(store: ModelStore) -> None:
    fresh = store.partial_path("sha256:" + "3" * 64)
    fresh.write_bytes(b"resume me")
    assert store.gc() == 0
    assert fresh.exists()


def test_list_skips_a_broken_manifest_and_gc_keeps_blobs(store: ModelStore) -> None:
    m = install(store, "m:latest", {"w": b"w"})
    orphan = add_blob(store, b"orphan")
    broken = store.root / "manifests" / "library" / "broken" / "latest"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"{not json")
    assert [x.name for x in store.list()] == ["m:latest"]
    store.gc(stale_after=0)
    assert store.has_blob(orphan.digest)  # conservative while a manifest is unreadable
    assert store.has_blob(m.files[0].digest)
