"""Unit-test fixtures: an app on a temporary home with an in-process fake runtime."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes import InProcessRuntime
from litestar.testing import TestClient
from tollama.app import create_app
from tollama.names import parse_name
from tollama.settings import Settings
from tollama.store import FileEntry, Manifest, ModelStore, hash_file, utc_now


def install_fake(store: ModelStore, name: str, family: str, *, parameters: dict[str, Any] | None = None) -> None:
    """Put a manifest for registry model ``name`` in the store (config blob only, no weights)."""
    partial = store.tmp_dir / f"{name}.partial"
    partial.write_bytes(json.dumps({"model": name}).encode())
    digest, _ = hash_file(partial)
    store.commit_blob(partial, digest, verified=True)
    ref = parse_name(name)
    store.put_manifest(ref, Manifest(name=ref.full, model=name, family=family, files=[FileEntry("config.json", digest, partial.stat().st_size if partial.exists() else 20)],
                                     parameters=parameters or {}, created_at=utc_now()))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", keep_alive="5m", import_dirs=str(tmp_path))


@pytest.fixture
def runtime() -> InProcessRuntime:
    return InProcessRuntime()


@pytest.fixture
def client(settings: Settings, runtime: InProcessRuntime) -> Iterator[TestClient[Any]]:
    app = create_app(settings, runtime=runtime)
    store = app.state["services"].store
    install_fake(store, "chronos-bolt-tiny", "chronos")
    install_fake(store, "chronos-2", "chronos")
    install_fake(store, "granite-ttm-r2", "granite")
    install_fake(store, "chronos-t5-tiny", "chronos")
    with TestClient(app) as c:
        yield c
