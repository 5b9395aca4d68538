"""A request to a model with variants (granite-ttm-r2) is served by the pulled variant that fits it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import install_fake
from fakes import InProcessRuntime
from litestar.testing import TestClient
from tollama.app import create_app
from tollama.settings import Settings

BASE = "granite-ttm-r2"
Install = Callable[..., None]


@pytest.fixture
def runtime() -> InProcessRuntime:
    return InProcessRuntime(families=("granite",))


@pytest.fixture
def app_and_client(settings: Settings, runtime: InProcessRuntime) -> Iterator[tuple[Any, TestClient[Any]]]:
    app = create_app(settings, runtime=runtime)
    with TestClient(app) as c:
        yield app, c


@pytest.fixture
def client(app_and_client: tuple[Any, TestClient[Any]]) -> TestClient[Any]:
    return app_and_client[1]


@pytest.fixture
def pull(app_and_client: tuple[Any, TestClient[Any]]) -> Install:
    """Install registry models in the store (as a pull would) and tell the models service."""
    services = app_and_client[0].state["services"]

    def install(*names: str) -> None:
        for name in names:
            install_fake(services.store, name, "granite")
        services.models.changed()

    return install


def digest(client: TestClient[Any], name: str) -> str:
    resp = client.post("/api/show", json={"model": name})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["model_info"]["tollama.digest"])


def forecast(client: TestClient[Any], model: str, length: int, horizon: int, **kw: Any) -> Any:
    return client.post("/api/forecast", json={"model": model, "horizon": horizon, "series": [[float(i) for i in range(length)]], **kw})


def loaded(client: TestClient[Any]) -> list[str]:
    return [m["name"] for m in client.get("/api/ps").json()["models"]]


def test_a_long_horizon_is_served_by_the_variant_that_covers_it(client: TestClient[Any], pull: Install, runtime: InProcessRuntime) -> None:
    pull(BASE, "granite-ttm-r2-512-336", "granite-ttm-r2-1024-336", "granite-ttm-r2-512-720")
    resp = forecast(client, BASE, 600, 200)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["model"] == "granite-ttm-r2:latest"
    assert body["digest"] == digest(client, "granite-ttm-r2-512-336") != digest(client, BASE)
    assert body["horizon"] == 200 and len(body["forecasts"][0]["mean"]) == 200
    assert any("served by its variant 'granite-ttm-r2-512-336'" in w for w in body["warnings"]), body["warnings"]
    assert not any("tollama pull" in w for w in body["warnings"])  # the best variant is pulled
    assert runtime.adapter.loads == ["granite-ttm-r2-512-336"]
    assert loaded(client) == ["granite-ttm-r2-512-336:latest"]
    assert runtime.adapter.options_seen[-1]["context_length"] == 512


def test_a_long_history_is_served_by_the_longest_context_it_fills(client: TestClient[Any], pull: Install, runtime: InProcessRuntime) -> None:
    pull(BASE, "granite-ttm-r2-1024-96", "granite-ttm-r2-1536-96")
    resp = forecast(client, BASE, 1100, 50)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["digest"] == digest(client, "granite-ttm-r2-1024-96")
    assert runtime.adapter.options_seen[-1]["context_length"] == 1024
    assert any("served by its variant 'granite-ttm-r2-1024-96'" in w for w in body["warnings"])
    # 1100 points do not fill 1536: no switch past what the history fills, and no truncation below 1024
    assert not any("truncated" in w and "1536" in w for w in body["warnings"])


def test_the_context_length_option_caps_the_history_that_chooses(client: TestClient[Any], pull: Install, runtime: InProcessRuntime) -> None:
    pull(BASE, "granite-ttm-r2-1024-96")
    resp = forecast(client, BASE, 1100, 50, options={"context_length": 600})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["digest"] == digest(client, BASE)
    assert not any("variant" in w for w in body["warnings"]), body["warnings"]
    assert runtime.adapter.loads == [BASE]


def test_a_request_the_base_fits_best_has_no_variant_warning(client: TestClient[Any], pull: Install) -> None:
    pull(BASE, "granite-ttm-r2-512-336")
    body = forecast(client, BASE, 300, 24).json()
    assert body["digest"] == digest(client, BASE)
    assert not any("variant" in w for w in body["warnings"]), body["warnings"]


def test_a_pulled_variant_serves_when_the_best_is_not_pulled_with_a_warning(client: TestClient[Any], pull: Install) -> None:
    pull(BASE, "granite-ttm-r2-512-336")
    resp = forecast(client, BASE, 1100, 200)  # best overall: 1024-336, not pulled
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["digest"] == digest(client, "granite-ttm-r2-512-336")
    warnings = body["warnings"]
    assert any("served by its variant 'granite-ttm-r2-512-336'" in w for w in warnings), warnings
    assert any("'granite-ttm-r2-1024-336'" in w and "`tollama pull granite-ttm-r2-1024-336`" in w for w in warnings), warnings


def test_the_base_serves_with_a_warning_when_only_a_better_context_is_missing(client: TestClient[Any], pull: Install) -> None:
    pull(BASE)
    body = forecast(client, BASE, 2000, 48).json()
    assert body["digest"] == digest(client, BASE)
    assert any("`tollama pull granite-ttm-r2-1536-96`" in w for w in body["warnings"]), body["warnings"]
    assert not any("served by its variant" in w for w in body["warnings"])


def test_no_pulled_variant_covers_the_horizon(client: TestClient[Any], pull: Install, runtime: InProcessRuntime) -> None:
    pull(BASE, "granite-ttm-r2-1024-96")
    for path in ("/api/forecast", "/api/validate"):
        resp = client.post(path, json={"model": BASE, "horizon": 200, "series": [[1.0] * 600]})
        assert resp.status_code == 404, resp.text
        body = resp.json()
        assert body["code"] == "variant_not_pulled"
        assert body["path"] == "$.horizon" and body["value"] == 200 and body["limit"] == 96
        assert body["variant"] == "granite-ttm-r2-512-336"
        assert "horizon 200" in body["error"] and "96" in body["error"] and "`tollama pull granite-ttm-r2-512-336`" in body["error"]
    assert runtime.started == []


def test_a_horizon_past_every_variant_is_invalid(client: TestClient[Any], pull: Install, runtime: InProcessRuntime) -> None:
    pull(BASE, "granite-ttm-r2-512-720")
    resp = forecast(client, BASE, 600, 721)
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["code"] == "invalid_value" and body["path"] == "$.horizon" and body["value"] == 721 and body["limit"] == 720
    assert "every variant" in body["error"]
    assert runtime.started == []


def test_an_explicit_variant_is_served_as_asked(client: TestClient[Any], pull: Install, runtime: InProcessRuntime) -> None:
    pull(BASE, "granite-ttm-r2-512-336", "granite-ttm-r2-1024-96")
    resp = forecast(client, "granite-ttm-r2-512-336", 1100, 50)  # 1024-96 would be granite's pick
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["model"] == "granite-ttm-r2-512-336:latest"
    assert body["digest"] == digest(client, "granite-ttm-r2-512-336")
    assert not any("variant" in w for w in body["warnings"]), body["warnings"]
    assert runtime.adapter.loads == ["granite-ttm-r2-512-336"]
    too_long = forecast(client, "granite-ttm-r2-1024-96", 1100, 200)
    assert too_long.status_code == 400 and too_long.json()["code"] == "invalid_value"
    assert "maximum of 96" in too_long.json()["error"]


def test_copies_and_created_models_do_not_switch(client: TestClient[Any], pull: Install) -> None:
    pull(BASE, "granite-ttm-r2-512-336")
    assert client.post("/api/copy", json={"source": BASE, "destination": "my-ttm"}).status_code == 200
    resp = client.post("/api/create", json={"model": "ttm-daily", "modelfile": f"FROM {BASE}\nPARAMETER horizon 48\n", "stream": False})
    assert resp.status_code == 200, resp.text
    for name in ("my-ttm", "ttm-daily"):
        refused = forecast(client, name, 600, 200)
        assert refused.status_code == 400, refused.text
        assert refused.json()["code"] == "invalid_value" and "maximum of 96" in refused.json()["error"]
    assert client.post("/api/show", json={"model": "my-ttm"}).json()["model_info"]["tollama.variants"] == []
    assert len(client.post("/api/show", json={"model": BASE}).json()["model_info"]["tollama.variants"]) == 12


def test_validate_reports_the_switch_without_running(client: TestClient[Any], pull: Install, runtime: InProcessRuntime) -> None:
    pull(BASE, "granite-ttm-r2-512-192")
    resp = client.post("/api/validate", json={"model": BASE, "horizon": 150, "series": [[1.0] * 100]})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["model"] == "granite-ttm-r2:latest" and body["horizon"] == 150
    assert any("'granite-ttm-r2-512-192'" in w for w in body["warnings"])
    assert runtime.started == []


def test_pull_and_delete_change_the_choice(client: TestClient[Any], pull: Install) -> None:
    pull(BASE)
    assert forecast(client, BASE, 600, 200).json()["code"] == "variant_not_pulled"
    pull("granite-ttm-r2-512-336")
    assert forecast(client, BASE, 600, 200).json()["digest"] == digest(client, "granite-ttm-r2-512-336")
    assert client.request("DELETE", "/api/delete", json={"model": "granite-ttm-r2-512-336"}).status_code == 200
    assert forecast(client, BASE, 600, 200).json()["code"] == "variant_not_pulled"


def test_the_longest_series_chooses_multivariate_included(client: TestClient[Any], pull: Install) -> None:
    pull(BASE, "granite-ttm-r2-1024-96")
    long_mv = {"id": "mv", "target": [[1.0] * 1100, [2.0] * 1100]}
    resp = client.post("/api/forecast", json={"model": BASE, "horizon": 50, "series": [[1.0, 2.0, 3.0], long_mv]})
    assert resp.status_code == 200, resp.text
    assert resp.json()["digest"] == digest(client, "granite-ttm-r2-1024-96")
    short = client.post("/api/forecast", json={"model": BASE, "horizon": 50, "series": [{"id": "mv", "target": [[1.0] * 700, [2.0] * 700]}]})
    assert short.json()["digest"] == digest(client, BASE)
