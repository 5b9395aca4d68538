"""deploy/swarm/stack.yaml read as a file and checked against the repository (no engine needed).

The deployment itself is tests/docker/test_swarm.py; this keeps the stack's settings, worker URLs
and store mounts in step with the settings table and the images, as the Kubernetes test does for
its manifests.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from conftest import ROOT
from fakes import LastValueAdapter
from litestar.testing import TestClient
from settings_table import unknown_settings
from tollama.api import system
from tollama.runtime.static import parse_workers
from tollama.settings import Settings
from tollama_kit.server import create_worker_app

STACK = ROOT / "deploy" / "swarm" / "stack.yaml"


def _stack() -> dict[str, Any]:
    doc = yaml.safe_load(STACK.read_text())
    assert isinstance(doc, dict)
    return doc


def _image_env(dockerfile: str) -> dict[str, str]:
    """The ``ENV`` a Dockerfile's last stage sets (``KEY=value`` pairs, continued lines joined)."""
    text = (ROOT / "images" / dockerfile).read_text().replace("\\\n", " ")
    last_stage = text.rsplit("\nFROM ", 1)[-1]
    return dict(re.findall(r"([A-Z_]+)=(\S+)", " ".join(re.findall(r"^ENV (.*)$", last_stage, flags=re.M))))


def _gateway_env(stack: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in stack["services"]["gateway"]["environment"].items()}


def test_every_tollama_variable_the_stack_sets_is_a_setting() -> None:
    used = {var for service in _stack()["services"].values() for var in service.get("environment", {})}
    assert {"TOLLAMA_RUNTIME", "TOLLAMA_STATIC_WORKERS", "TOLLAMA_API_KEYS_FILE"} <= used
    assert not unknown_settings(used), f"not in the settings table: {unknown_settings(used)}"


def test_the_gateway_settings_parse_over_the_image_defaults() -> None:
    env = {**_image_env("gateway.Dockerfile"), **_gateway_env(_stack())}
    settings = Settings.from_env(env)
    assert settings.runtime == "static"
    assert settings.static_resolve_interval <= 10  # `docker service scale` shows within seconds
    assert settings.api_keys_file == Path("/run/secrets/tollama-api-keys")


def test_the_gateway_points_at_the_tasks_of_every_family_service() -> None:
    stack = _stack()
    services = stack["services"]
    workers = parse_workers(_gateway_env(stack)["TOLLAMA_STATIC_WORKERS"])
    families = {name for name, s in services.items() if name != "gateway"}
    assert set(workers) == families
    (exposed,) = re.findall(r"^EXPOSE (\d+)$", (ROOT / "images" / "worker.Dockerfile").read_text(), flags=re.M)
    for family, urls in workers.items():
        (url,) = urls
        parts = urlsplit(url)
        assert parts.hostname == f"tasks.{family}", "Swarm's tasks.<service> name answers one address per task"
        assert parts.port == int(exposed)
        service = services[family]
        assert service["image"] == f"tollama/{family}:cpu"
        assert service["deploy"]["endpoint_mode"] == "dnsrr"
        assert service["deploy"]["replicas"] >= 2
        assert "ports" not in service, "workers are reached on the stack network only"


def test_healthchecks_use_real_routes_and_the_port_is_published_in_host_mode() -> None:
    services = _stack()["services"]
    gateway_paths = {path for handler in system.ROUTES for path in handler.paths}
    probe = " ".join(services["gateway"]["healthcheck"]["test"])
    (path,) = re.findall(r"http://127\.0\.0\.1:11435(/\w+)", probe)
    assert path == "/healthz" and path in gateway_paths
    (port,) = services["gateway"]["ports"]
    assert (port["target"], port["mode"]) == (Settings().port, "host")
    worker_paths = set()
    for family in (name for name in services if name != "gateway"):
        (worker_path,) = re.findall(
            r"http://127\.0\.0\.1:8000(/[\w/]+)", " ".join(services[family]["healthcheck"]["test"])
        )
        worker_paths.add(worker_path)
    with TestClient(create_worker_app(LastValueAdapter())) as client:
        for worker_path in worker_paths:
            assert client.get(worker_path).status_code == 200, worker_path


def test_the_store_is_mounted_read_write_in_the_gateway_and_read_only_in_workers() -> None:
    stack = _stack()
    home = _image_env("gateway.Dockerfile")["TOLLAMA_HOME"]
    mounts = {name: service["volumes"] for name, service in stack["services"].items()}
    assert mounts.pop("gateway") == [f"models:{home}/models"]
    assert mounts
    for family, volumes in mounts.items():
        assert volumes == [f"models:{home}/models:ro"], family
    assert "models" in stack["volumes"]
