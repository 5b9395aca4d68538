"""The docker runtime under an in-process gateway: real containers, real images, real engine."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest
from conftest import SERIES, assert_hardened, build_image, managed, wait_for
from hubserver import HubServer
from litestar.testing import TestClient
from tollama.app import create_app
from tollama.runtime.docker import CONTAINER_STORE
from tollama.settings import Settings

pytestmark = [pytest.mark.docker, pytest.mark.slow]

NAIVE = {"model": "naive", "horizon": 4, "series": SERIES, "options": {"context_length": 48}}


def settings_for(tmp_path: Path, instance: str, **overrides: Any) -> Settings:
    return Settings(
        home=tmp_path / "home",
        runtime="docker",
        docker_instance=instance,
        keep_alive="5m",
        worker_start_timeout=180,
        cache_bytes="0",  # these tests repeat requests to reach containers: no answer from the result cache
        **overrides,
    )


@pytest.fixture
def gateway(tmp_path: Path, instance: str, images: dict[str, str]) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(settings_for(tmp_path, instance)), timeout=300) as client:
        yield client


def forecast(client: TestClient[Any], body: dict[str, Any]) -> dict[str, Any]:
    resp = client.post("/api/forecast", json=body)
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


def test_forecast_starts_a_labelled_container_and_keep_alive_0_stops_it(
    gateway: TestClient[Any], engine: docker.DockerClient, instance: str
) -> None:
    assert gateway.get("/api/info").json()["runtime"] == "docker"
    body = forecast(gateway, NAIVE)
    assert body["family"] == "baseline"
    assert body["forecasts"][0]["mean"] == pytest.approx([SERIES[0]["target"][-1]] * 4, rel=1e-6)

    (container,) = managed(engine, instance)
    assert container.status == "running"
    assert container.labels["tollama.family"] == "baseline"
    assert container.labels["tollama.protocol"] == "1"
    assert container.image.tags == ["tollama/baseline:cpu"]
    (mount,) = container.attrs["Mounts"]
    assert (mount["Destination"], mount["RW"]) == (CONTAINER_STORE, False)
    bindings = container.ports["8000/tcp"]
    assert [b["HostIp"] for b in bindings] == ["127.0.0.1"]  # loopback only
    assert_hardened(container, CONTAINER_STORE)

    (entry,) = gateway.get("/api/ps").json()["models"]
    assert entry["name"] == "naive:latest"
    assert entry["details"]["family"] == "baseline"

    forecast(gateway, {**NAIVE, "keep_alive": 0})
    assert gateway.get("/api/ps").json()["models"] == []
    assert managed(engine, instance) == []  # stopped and removed


def test_keep_alive_expiry_stops_the_container(
    gateway: TestClient[Any], engine: docker.DockerClient, instance: str
) -> None:
    forecast(gateway, {**NAIVE, "keep_alive": "1s"})
    assert len(managed(engine, instance)) == 1
    wait_for(lambda: not managed(engine, instance), 30, "the idle baseline container to be removed")
    assert gateway.get("/api/ps").json()["models"] == []


def test_a_killed_container_is_detected_and_the_next_request_starts_a_new_one(
    gateway: TestClient[Any], engine: docker.DockerClient, instance: str
) -> None:
    forecast(gateway, NAIVE)
    (first,) = managed(engine, instance)
    first.kill()
    first.wait()
    # Detected without any request: the reaper forgets the dead worker and removes its container.
    wait_for(lambda: gateway.get("/api/ps").json()["models"] == [], 30, "/api/ps to drop the dead worker's model")
    wait_for(lambda: not managed(engine, instance), 30, "the killed container to be removed")

    body = forecast(gateway, NAIVE)
    assert body["forecasts"][0]["mean"] == pytest.approx([SERIES[0]["target"][-1]] * 4, rel=1e-6)
    (second,) = managed(engine, instance)
    assert second.id != first.id
    assert second.status == "running"


def test_orphans_of_a_previous_gateway_are_removed_at_startup(
    tmp_path: Path, engine: docker.DockerClient, instance: str, images: dict[str, str]
) -> None:
    def sleeper(labels: dict[str, str]) -> Any:
        return engine.containers.run(images["baseline"], ["sleep", "300"], detach=True, labels=labels)

    orphan = sleeper({"tollama.managed": "1", "tollama.instance": instance, "tollama.family": "baseline"})
    other_gateway = sleeper(
        {"tollama.managed": "1", "tollama.instance": f"{instance}-other", "tollama.family": "baseline"}
    )
    unmanaged = sleeper({"tollama.instance": instance})
    try:
        with TestClient(create_app(settings_for(tmp_path, instance)), timeout=300) as client:
            assert client.get("/api/ps").json()["models"] == []
            with pytest.raises(docker.errors.NotFound):
                orphan.reload()
            other_gateway.reload()
            unmanaged.reload()
            assert (other_gateway.status, unmanaged.status) == ("running", "running")  # not ours: untouched
    finally:
        for container in (orphan, other_gateway, unmanaged):
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True)


def test_a_family_without_an_image_is_runtime_not_installed(
    tmp_path: Path, instance: str, engine: docker.DockerClient
) -> None:
    settings = settings_for(tmp_path, instance, image_prefix="tollama-missing")
    with TestClient(create_app(settings), timeout=60) as client:
        resp = client.post("/api/forecast", json=NAIVE)
    assert resp.status_code == 409, resp.text
    assert resp.json()["code"] == "runtime_not_installed"
    assert "tollama-missing/baseline:cpu" in resp.json()["error"]
    assert managed(engine, instance) == []


def test_a_crashing_worker_fails_with_its_log_tail(
    tmp_path: Path, engine: docker.DockerClient, instance: str, images: dict[str, str]
) -> None:
    broken = "tollama-test-broken/baseline:cpu"
    dockerfile = f"FROM {images['baseline']}\nENV TOLLAMA_FAMILY=no_such_family\n".encode()
    engine.images.build(fileobj=io.BytesIO(dockerfile), tag=broken, rm=True)
    try:
        with TestClient(
            create_app(settings_for(tmp_path, instance, image_prefix="tollama-test-broken")), timeout=300
        ) as client:
            resp = client.post("/api/forecast", json=NAIVE)
        assert resp.status_code == 503, resp.text
        body = resp.json()
        assert body["code"] == "worker_unavailable"
        assert "exited while starting" in body["error"]
        assert "tollama_no_such_family" in body["log_tail"]  # the container's own traceback
        assert managed(engine, instance) == []
    finally:
        engine.images.remove(broken, force=True)


def test_chronos_pulled_from_a_hub_forecasts_in_its_container(
    tmp_path: Path,
    engine: docker.DockerClient,
    instance: str,
    images: dict[str, str],
    chronos_checkpoint: dict[str, bytes],
) -> None:
    with HubServer({"amazon/chronos-bolt-tiny": {"main": chronos_checkpoint}}) as hub:
        settings = settings_for(tmp_path, instance, hf_endpoint=hub.endpoint)
        with TestClient(create_app(settings), timeout=300) as client:
            resp = client.post("/api/pull", json={"model": "chronos-bolt-tiny", "stream": False})
            assert resp.status_code == 200, resp.text
            assert resp.json()["status"] == "success"
            body = forecast(
                client, {"model": "chronos-bolt-tiny", "horizon": 6, "quantiles": [0.1, 0.5, 0.9], "series": SERIES}
            )
            assert body["family"] == "chronos"
            result = body["forecasts"][0]
            assert len(result["mean"]) == 6
            assert sorted(result["quantiles"]) == ["0.1", "0.5", "0.9"]
            (container,) = managed(engine, instance, **{"tollama.family": "chronos"})
            assert container.image.tags == ["tollama/chronos:cpu"]
            assert_hardened(container, CONTAINER_STORE)  # and a torch family forecast through it
            (entry,) = client.get("/api/ps").json()["models"]
            assert entry["name"] == "chronos-bolt-tiny:latest"
        assert managed(engine, instance) == []  # the gateway's shutdown removed it


@pytest.mark.skipif(
    not os.environ.get("TOLLAMA_TEST_CUDA_IMAGE"),
    reason="set TOLLAMA_TEST_CUDA_IMAGE=1 to build the chronos CUDA image (5.4 GB of CUDA wheels, ~8 min) and run it",
)
def test_the_cuda_image_serves_on_a_host_without_gpus(
    tmp_path: Path,
    engine: docker.DockerClient,
    instance: str,
    images: dict[str, str],
    chronos_checkpoint: dict[str, bytes],
) -> None:
    """The CUDA variant's image (torch's CUDA build from requirements-cuda.lock) is a working worker: with no
    GPU to give it (no TOLLAMA_GPUS) it gets no device request, falls back to the CPU, and answers exactly
    as the CPU image does."""
    build_image("chronos", "cuda")
    request = {"model": "chronos-bolt-tiny", "horizon": 6, "quantiles": [0.1, 0.5, 0.9], "series": SERIES}
    answers = {}
    with HubServer({"amazon/chronos-bolt-tiny": {"main": chronos_checkpoint}}) as hub:
        for variant in ("cpu", "cuda"):
            settings = settings_for(tmp_path / variant, instance, hf_endpoint=hub.endpoint, variant=variant)
            with TestClient(create_app(settings), timeout=600) as client:
                assert client.post("/api/pull", json={"model": "chronos-bolt-tiny", "stream": False}).status_code == 200
                answers[variant] = forecast(client, request)
                (container,) = managed(engine, instance, **{"tollama.family": "chronos"})
                assert container.image.tags == [f"tollama/chronos:{variant}"]
                assert container.attrs["HostConfig"]["DeviceRequests"] in (None, [])
            assert managed(engine, instance) == []
    assert answers["cuda"]["device"] == "cpu"
    got, want = answers["cuda"]["forecasts"][0], answers["cpu"]["forecasts"][0]
    assert got["mean"] == pytest.approx(want["mean"], rel=1e-4, abs=1e-4)
    for level in ("0.1", "0.5", "0.9"):
        assert got["quantiles"][level] == pytest.approx(want["quantiles"][level], rel=1e-4, abs=1e-4)


def test_auto_runtime_runs_families_with_an_image_in_docker(
    tmp_path: Path, engine: docker.DockerClient, instance: str, images: dict[str, str]
) -> None:
    settings = replace(settings_for(tmp_path, instance), runtime="auto")
    with TestClient(create_app(settings), timeout=300) as client:
        assert client.get("/api/info").json()["runtime"] == "docker+process"
        forecast(client, NAIVE)
        (container,) = managed(engine, instance)
        (mount,) = container.attrs["Mounts"]
        assert mount["Destination"] == str(settings.store_dir)  # same path as the process runtime sees
    assert managed(engine, instance) == []
