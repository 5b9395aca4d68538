"""Resources belong to the lifespan: building the app connects to nothing; starting it does."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient
from tollama.app import create_app
from tollama.settings import Settings


class FakeEngine:
    """A TCP listener standing in for a Docker engine: it counts connections and answers none."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()
        self._thread.join(timeout=5)


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeEngine]:
    pytest.importorskip("docker")
    fake = FakeEngine()
    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{fake.port}")
    yield fake
    fake.close()


@pytest.mark.parametrize("runtime", ["docker", "auto"])
def test_building_the_app_and_its_openapi_touches_no_engine(engine: FakeEngine, tmp_path: Path, runtime: str) -> None:
    app = create_app(Settings(home=tmp_path, runtime=runtime))
    assert app.openapi_schema.to_schema()["paths"], "scripts/gen_docs.py builds the schema this way"
    assert engine.connections == 0, "create_app must only wire: the lifespan connects"


def test_the_lifespan_connects_and_a_required_engine_that_fails_stops_startup(engine: FakeEngine, tmp_path: Path) -> None:
    app = create_app(Settings(home=tmp_path, runtime="docker"))
    with pytest.raises(BaseException) as info, TestClient(app):  # noqa: PT011 - the test client wraps it in a group
        pass
    assert info.group_contains(RuntimeError, match="no Docker engine answers") if isinstance(info.value, BaseExceptionGroup) else (
        "no Docker engine answers" in str(info.value)
    )
    assert engine.connections >= 1


def test_auto_falls_back_to_processes_when_the_engine_fails_at_startup(engine: FakeEngine, tmp_path: Path) -> None:
    app = create_app(Settings(home=tmp_path, runtime="auto"))
    with TestClient(app) as client:
        assert engine.connections >= 1
        assert client.get("/api/info").json()["runtime"] == "process"
