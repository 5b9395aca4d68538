"""API keys, scopes and CORS, against the real app (in-process fake runtime) and the real clients."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import install_fake
from fakes import InProcessRuntime
from litestar.testing import TestClient
from tollama.api.auth import load_keys, parse_keys
from tollama.app import create_app
from tollama.settings import Settings, access_notice, parse_host

ADMIN, FORECAST = "adm-0123456789abcdef", "fc-0123456789abcdef"


@pytest.fixture
def keyed(tmp_path: Path, runtime: InProcessRuntime) -> Iterator[TestClient[Any]]:
    settings = Settings(home=tmp_path / "home", api_keys=f"admin:{ADMIN},forecast:{FORECAST}")
    app = create_app(settings, runtime=runtime)
    install_fake(app.state["services"].store, "chronos-bolt-tiny", "chronos")
    with TestClient(app) as c:
        yield c


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


FORECAST_BODY = {"model": "chronos-bolt-tiny", "horizon": 2, "series": [[1, 2, 3]]}


@pytest.mark.parametrize("path", ["/", "/healthz", "/readyz", "/api/version"])
def test_open_routes_need_no_key(keyed: TestClient[Any], path: str) -> None:
    assert keyed.get(path).status_code == 200


@pytest.mark.parametrize(("method", "path"), [("GET", "/api/tags"), ("GET", "/api/ps"), ("GET", "/metrics"), ("GET", "/api/info"),
                                              ("POST", "/api/forecast"), ("POST", "/api/pull"), ("GET", "/schema/openapi.json")])
def test_every_other_route_needs_a_key(keyed: TestClient[Any], method: str, path: str) -> None:
    resp = keyed.request(method, path, json=FORECAST_BODY if method == "POST" else None)
    assert resp.status_code == 401, resp.text
    assert resp.json()["code"] == "unauthorized"
    assert resp.headers["www-authenticate"].startswith("Bearer")


def test_a_wrong_key_or_scheme_is_unauthorized(keyed: TestClient[Any]) -> None:
    for headers in (_auth("not-a-key-at-all"), {"Authorization": f"Basic {ADMIN}"}, {"Authorization": "Bearer "}):
        resp = keyed.get("/api/tags", headers=headers)
        assert resp.status_code == 401 and resp.json()["code"] == "unauthorized"
        assert ADMIN not in resp.text


def test_forecast_scope_reads_and_forecasts_but_is_forbidden_admin_verbs(keyed: TestClient[Any]) -> None:
    assert keyed.get("/api/tags", headers=_auth(FORECAST)).status_code == 200
    assert keyed.get("/metrics", headers=_auth(FORECAST)).status_code == 200
    resp = keyed.post("/api/forecast", json=FORECAST_BODY, headers=_auth(FORECAST))
    assert resp.status_code == 200, resp.text
    assert keyed.post("/api/validate", json=FORECAST_BODY, headers=_auth(FORECAST)).status_code == 200
    for method, path, body in [("POST", "/api/pull", {"model": "chronos-bolt-tiny"}), ("DELETE", "/api/delete", {"model": "chronos-bolt-tiny"}),
                               ("POST", "/api/copy", {"source": "chronos-bolt-tiny", "destination": "x"}),
                               ("POST", "/api/stop", {"model": "chronos-bolt-tiny"})]:
        resp = keyed.request(method, path, json=body, headers=_auth(FORECAST))
        assert resp.status_code == 403, (path, resp.text)
        assert resp.json()["code"] == "forbidden" and "admin" in resp.json()["error"]
    assert keyed.get("/api/tags", headers=_auth(FORECAST)).json()["models"], "the forbidden delete must not have run"


def test_admin_scope_may_call_admin_verbs(keyed: TestClient[Any]) -> None:
    resp = keyed.post("/api/copy", json={"source": "chronos-bolt-tiny", "destination": "mine"}, headers=_auth(ADMIN))
    assert resp.status_code == 200, resp.text
    assert keyed.post("/api/stop", json={"model": "mine"}, headers=_auth(ADMIN)).status_code == 200


def test_keys_are_never_logged(keyed: TestClient[Any], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    keyed.get("/api/tags", headers=_auth("wrong-key-123456789"))
    keyed.post("/api/forecast", json=FORECAST_BODY, headers=_auth(FORECAST))
    assert FORECAST not in caplog.text and "wrong-key-123456789" not in caplog.text


def test_key_parsing_names_the_entry_not_the_key(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="entry 2") as err:
        parse_keys("admin:aaaaaaaaaa,root:secret-secret")
    assert "secret-secret" not in str(err.value)
    with pytest.raises(ValueError, match="shorter than 8"):
        parse_keys("forecast:short")
    file = tmp_path / "keys"
    file.write_text("# team keys\nforecast:ci-0123456789\n\nadmin:ops-0123456789\n")
    assert [k.scope for k in load_keys("", file)] == ["forecast", "admin"]
    with pytest.raises(ValueError, match="cannot be read"):
        load_keys("", tmp_path / "missing")


def test_keys_file_protects_the_app(tmp_path: Path, runtime: InProcessRuntime) -> None:
    file = tmp_path / "keys"
    file.write_text("forecast:ci-0123456789\n")
    with TestClient(create_app(Settings(home=tmp_path / "h", api_keys_file=file), runtime=runtime)) as c:
        assert c.get("/api/tags").status_code == 401
        assert c.get("/api/tags", headers=_auth("ci-0123456789")).status_code == 200


def test_without_keys_everything_is_open(client: TestClient[Any]) -> None:
    assert client.get("/api/tags").status_code == 200


def test_python_client_sends_tollama_api_key(keyed: TestClient[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx
    from tollama.client import ApiError, Client

    def client_for(key: str | None) -> Client:
        c = Client("http://testserver", api_key=key)
        c._http = httpx.Client(base_url="http://testserver", headers=c._http.headers, transport=_BridgeTransport(keyed))
        return c

    monkeypatch.setenv("TOLLAMA_API_KEY", FORECAST)
    assert client_for(None).tags()["models"]
    with pytest.raises(ApiError) as err:
        client_for("").tags()
    assert err.value.status == 401 and err.value.code == "unauthorized"


class _BridgeTransport:
    """An httpx transport that hands requests to the Litestar test client (same app, no socket)."""

    def __init__(self, tc: TestClient[Any]) -> None:
        self.tc = tc

    def handle_request(self, request: Any) -> Any:
        import httpx

        resp = self.tc.request(request.method, request.url.path, content=request.read(), headers=dict(request.headers))
        return httpx.Response(resp.status_code, headers=resp.headers, content=resp.content)

    def close(self) -> None:
        return None


@pytest.mark.parametrize(("origin", "allowed"), [("http://localhost:3000", True), ("http://127.0.0.1", True), ("https://evil.example", False)])
def test_cors_preflight_allows_loopback_origins_only(client: TestClient[Any], origin: str, allowed: bool) -> None:
    resp = client.options("/api/forecast", headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
    assert ("access-control-allow-origin" in resp.headers) is allowed, resp.headers
    simple = client.get("/api/tags", headers={"Origin": origin})
    assert (simple.headers.get("access-control-allow-origin") == origin) is allowed


def test_tollama_origins_adds_origins(tmp_path: Path, runtime: InProcessRuntime) -> None:
    settings = Settings(home=tmp_path / "h", origins="https://*.example.com,https://app.test")
    with TestClient(create_app(settings, runtime=runtime)) as c:
        for origin, allowed in [("https://dash.example.com", True), ("https://app.test", True), ("https://app.test.evil", False)]:
            resp = c.options("/api/tags", headers={"Origin": origin, "Access-Control-Request-Method": "GET"})
            assert (resp.headers.get("access-control-allow-origin") == origin) is allowed, origin


def test_preflight_with_keys_needs_no_key_but_grants_nothing_to_strangers(keyed: TestClient[Any]) -> None:
    ok = keyed.options("/api/forecast", headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST",
                                                  "Access-Control-Request-Headers": "authorization,content-type"})
    assert ok.status_code == 204 and ok.headers["access-control-allow-origin"] == "http://localhost:5173"
    bad = keyed.options("/api/forecast", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in bad.headers


@pytest.mark.parametrize(("raw", "expected"), [
    ("0.0.0.0", ("0.0.0.0", 11435)), ("0.0.0.0:8080", ("0.0.0.0", 8080)), (":9000", ("127.0.0.1", 9000)),
    ("http://10.0.0.5:1234", ("10.0.0.5", 1234)), ("[::1]:7000", ("::1", 7000)), ("::", ("::", 11435)), ("myhost", ("myhost", 11435)),
])
def test_tollama_host_takes_ollamas_host_port_form(raw: str, expected: tuple[str, int]) -> None:
    assert parse_host(raw, 11435) == expected
    assert (Settings.from_env({"TOLLAMA_HOST": raw}).host, Settings.from_env({"TOLLAMA_HOST": raw}).port) == expected


def test_bad_host_port_is_refused() -> None:
    with pytest.raises(ValueError, match="port 'x'"):
        parse_host("h:x", 1)


def test_start_notice_says_who_can_reach_it() -> None:
    assert "loopback" in access_notice(Settings())
    assert "WARNING" in access_notice(Settings(host="0.0.0.0"))
    assert "required" in access_notice(Settings(host="0.0.0.0", api_keys="admin:0123456789"))


@pytest.fixture
def keyed_server(tmp_path: Path, runtime: InProcessRuntime) -> Iterator[str]:
    """The keyed app served by uvicorn on a loopback port the OS picks (a real socket for real clients)."""
    import socket
    import threading

    import uvicorn

    app = create_app(Settings(home=tmp_path / "home", api_keys=f"admin:{ADMIN},forecast:{FORECAST}"), runtime=runtime)
    install_fake(app.state["services"].store, "chronos-bolt-tiny", "chronos")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def test_official_ollama_client_works_with_a_key(keyed_server: str) -> None:
    import ollama

    listed = ollama.Client(host=keyed_server, headers={"Authorization": f"Bearer {FORECAST}"}).list()
    assert "chronos-bolt-tiny:latest" in [m.model for m in listed.models]
    with pytest.raises(ollama.ResponseError) as err:
        ollama.Client(host=keyed_server).list()
    assert err.value.status_code == 401
    with pytest.raises(ollama.ResponseError) as err:
        ollama.Client(host=keyed_server, headers={"Authorization": f"Bearer {FORECAST}"}).delete("chronos-bolt-tiny")
    assert err.value.status_code == 403
    admin = ollama.Client(host=keyed_server, headers={"Authorization": f"Bearer {ADMIN}"})
    admin.copy("chronos-bolt-tiny", "mine")
    assert "mine:latest" in [m.model for m in admin.list().models]


def test_create_from_a_server_path_is_confined_to_import_dirs(tmp_path: Path, runtime: InProcessRuntime) -> None:
    allowed, outside = tmp_path / "imports", tmp_path / "elsewhere"
    for d in (allowed / "ckpt", outside):
        d.mkdir(parents=True)
    (allowed / "ckpt" / "config.json").write_text('{"chronos_pipeline_class": "ChronosBoltPipeline"}')
    (outside / "secret.txt").write_text("not for the store")
    settings = Settings(home=tmp_path / "home", import_dirs=str(allowed))
    with TestClient(create_app(settings, runtime=runtime)) as c:
        def create(src: str) -> Any:
            return c.post("/api/create", json={"model": "imp", "modelfile": f"FROM {src}\n", "stream": False})

        for src in (str(outside), "/etc", f"{allowed}/../elsewhere"):
            resp = create(src)
            assert resp.status_code == 403 and resp.json()["code"] == "forbidden", resp.text
            assert "TOLLAMA_IMPORT_DIRS" in resp.json()["error"]
        (allowed / "ckpt" / "leak").symlink_to(outside / "secret.txt")
        resp = create(str(allowed / "ckpt"))
        assert resp.status_code == 403 and "links outside" in resp.json()["error"]
        (allowed / "ckpt" / "leak").unlink()
        assert create(str(allowed / "ckpt")).status_code == 200
    with TestClient(create_app(Settings(home=tmp_path / "home2"), runtime=runtime)) as c:
        resp = c.post("/api/create", json={"model": "imp", "modelfile": f"FROM {allowed / 'ckpt'}\n", "stream": False})
        assert resp.status_code == 403 and "not set" in resp.json()["error"]
