"""`docker compose up` → pull from a hub → forecast in a gateway-started container → `docker compose down`.

The hub (tests/hubserver.py, via hub_main.py) runs as a service on the compose network; the
gateway publishes on 127.0.0.1 with a port the engine picks. Names (project, network, volume,
instance label) are unique per run and everything is removed at the end.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import httpx
import pytest
from conftest import ROOT, SERIES, assert_hardened, hub_layout, managed, wait_for

pytestmark = [pytest.mark.docker, pytest.mark.slow]


class Compose:
    def __init__(self, project: str, env: dict[str, str]) -> None:
        self.project = project
        self.env = env

    def __call__(self, *args: str, check: bool = True) -> str:
        cmd = [
            "docker",
            "compose",
            "-p",
            self.project,
            "-f",
            str(ROOT / "compose.yaml"),
            "-f",
            str(ROOT / "tests/docker/compose.hub.yaml"),
            *args,
        ]
        proc = subprocess.run(cmd, cwd=ROOT, env=self.env, capture_output=True, text=True, check=False, timeout=300)
        if check and proc.returncode != 0:
            pytest.fail(
                f"`docker compose {' '.join(args)}` failed:\n{(proc.stdout + proc.stderr)[-3000:]}", pytrace=False
            )
        return proc.stdout

    def logs(self) -> str:
        return self("logs", "--no-color", "--tail", "60", check=False)


SOCKET = Path("/var/run/docker.sock")


@pytest.fixture(params=["root", "unprivileged"])
def gateway_user(request: pytest.FixtureRequest) -> dict[str, str]:
    """compose.yaml's two ways to run the gateway: root (the default) or the image's user 10001
    with the socket's group added (TOLLAMA_GATEWAY_USER, TOLLAMA_DOCKER_GID)."""
    if request.param == "root":
        return {}
    if not SOCKET.exists():
        pytest.skip(f"the unprivileged gateway needs the socket's group id, and {SOCKET} is not here")
    return {"TOLLAMA_GATEWAY_USER": "10001:10001", "TOLLAMA_DOCKER_GID": str(SOCKET.stat().st_gid)}


@pytest.fixture
def compose(
    gateway_user: dict[str, str],
    tmp_path: Path,
    instance: str,
    engine: docker.DockerClient,
    images: dict[str, str],
    chronos_checkpoint: dict[str, bytes],
) -> Iterator[Compose]:
    hub_data = hub_layout(chronos_checkpoint, "amazon/chronos-bolt-tiny", tmp_path / "hub")
    name = f"tollama-{instance}"
    env = {
        **os.environ,
        "TOLLAMA_ADDRESS": "127.0.0.1:",  # → "127.0.0.1::11435": loopback, a port the engine picks
        "TOLLAMA_NETWORK": name,
        "TOLLAMA_VOLUME": name,
        "TOLLAMA_INSTANCE": instance,
        "TOLLAMA_TEST_TESTS_DIR": str(ROOT / "tests"),
        "TOLLAMA_TEST_HUB_DATA": str(hub_data),
        **gateway_user,
    }
    project = Compose(name, env)
    try:
        yield project
    finally:
        project("down", "--volumes", "--remove-orphans", "--timeout", "60", check=False)
        for container in managed(engine, instance):
            container.remove(force=True)
        for leftover in (engine.networks, engine.volumes):
            with contextlib.suppress(docker.errors.NotFound):
                leftover.get(name).remove()


def test_compose_up_pull_forecast_down(
    compose: Compose, engine: docker.DockerClient, instance: str, gateway_user: dict[str, str]
) -> None:
    compose("up", "--detach", "--no-build", "--wait", "--wait-timeout", "180")
    project = [f"com.docker.compose.project={compose.project}", "com.docker.compose.service=gateway"]
    (gateway,) = engine.containers.list(filters={"label": project})
    host = gateway.attrs["HostConfig"]
    assert gateway.attrs["Config"]["User"] == gateway_user.get("TOLLAMA_GATEWAY_USER", "root")
    assert (host["ReadonlyRootfs"], host["CapDrop"], host["SecurityOpt"], host["PidsLimit"]) == (
        True,
        ["ALL"],
        ["no-new-privileges:true"],
        512,
    )
    assert list(host["Tmpfs"]) == ["/tmp"]
    address = compose("port", "gateway", "11435").strip()
    assert address.startswith("127.0.0.1:"), address
    base = f"http://{address}"
    with httpx.Client(base_url=base, timeout=300) as http:
        assert http.get("/api/info").json()["runtime"] == "docker"
        pulled = http.post("/api/pull", json={"model": "chronos-bolt-tiny", "stream": False})
        assert pulled.status_code == 200, pulled.text + compose.logs()
        assert pulled.json()["status"] == "success"

        resp = http.post("/api/forecast", json={"model": "chronos-bolt-tiny", "horizon": 5, "series": SERIES})
        assert resp.status_code == 200, resp.text + compose.logs()
        assert len(resp.json()["forecasts"][0]["mean"]) == 5

        (worker,) = managed(engine, instance, **{"tollama.family": "chronos"})
        networks = worker.attrs["NetworkSettings"]["Networks"]
        assert list(networks) == [f"tollama-{instance}"]  # the compose network, by name
        assert not worker.attrs["HostConfig"]["PortBindings"]  # no host port at all
        assert_hardened(worker)
        (mount,) = worker.attrs["Mounts"]
        assert (mount["Type"], mount["Name"], mount["Destination"], mount["RW"]) == (
            "volume",
            f"tollama-{instance}",
            "/models",
            False,
        )
        (entry,) = http.get("/api/ps").json()["models"]
        assert entry["name"] == "chronos-bolt-tiny:latest"

        # keep_alive runs out → the gateway stops the container, with no further request.
        again = http.post(
            "/api/forecast", json={"model": "chronos-bolt-tiny", "horizon": 5, "series": SERIES, "keep_alive": "1s"}
        )
        assert again.status_code == 200, again.text
        wait_for(lambda: not managed(engine, instance), 60, "the idle chronos container to be removed")
        assert http.get("/api/ps").json()["models"] == []

        # A worker running at `down`: the gateway removes it on SIGTERM. (Horizon 6: the horizon-5
        # request again would be answered from the result cache, with no worker started.)
        assert (
            http.post("/api/forecast", json={"model": "chronos-bolt-tiny", "horizon": 6, "series": SERIES}).status_code
            == 200
        )
        assert len(managed(engine, instance)) == 1

    compose("down", "--volumes", "--timeout", "60")
    assert managed(engine, instance) == []
    assert compose("ps", "--all", "--quiet").strip() == ""
    with pytest.raises(docker.errors.NotFound):
        engine.networks.get(f"tollama-{instance}")
    with pytest.raises(docker.errors.NotFound):
        engine.volumes.get(f"tollama-{instance}")
