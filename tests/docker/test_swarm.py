"""deploy/swarm/stack.yaml on a real single-node Docker Swarm: deploy → forecast → scale 2 → 3 → 2 → remove.

The engine joins a swarm of its own for the module if it is in none (and leaves it, and removes the
``docker_gwbridge`` network that joining made, afterwards); an engine already in a swarm is left in
it. The stack, its API-key secret and its volume carry a unique name and are removed at the end,
also on failure. The gateway's port is published in host mode with a port the engine picks (the
ingress routing mesh does not answer on these machines: docs/scale-out.md).

What it proves: the gateway, in the static runtime, sees exactly the family's running tasks (the
addresses Swarm gives them on the stack network) through ``tasks.baseline``, spreads forecasts over
them, and follows ``docker service scale`` up and down without a restart.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import docker
import docker.errors
import httpx
import pytest
from conftest import ROOT, SERIES, build_image, wait_for

pytestmark = [pytest.mark.docker, pytest.mark.slow]

STACK_FILE = ROOT / "deploy" / "swarm" / "stack.yaml"
FAMILY = "baseline"
NAIVE = {"model": "naive", "horizon": 4, "series": SERIES, "options": {"context_length": 48}}
GWBRIDGE = "docker_gwbridge"


@pytest.fixture(scope="module")
def swarm(engine: docker.DockerClient) -> Iterator[None]:
    """A swarm this engine manages: its own if it is in one, else a single-node one made here."""
    info = engine.info()["Swarm"]
    state = info["LocalNodeState"]
    if state == "active":
        if not info["ControlAvailable"]:
            pytest.skip("this engine is a worker of a swarm: a stack can only be deployed from a manager")
        yield
        return
    if state != "inactive":
        pytest.fail(
            f"the engine's swarm state is {state!r} ({info.get('Error')}): neither in a swarm nor out", pytrace=False
        )
    had_gwbridge = bool(engine.networks.list(names=[GWBRIDGE]))
    # Loopback only: nothing else is to join this swarm, so its control port need not be reachable.
    engine.swarm.init(advertise_addr="127.0.0.1", listen_addr="127.0.0.1:2377")
    try:
        yield
    finally:
        engine.swarm.leave(force=True)
        if not had_gwbridge:
            for network in engine.networks.list(names=[GWBRIDGE]):
                with contextlib.suppress(docker.errors.NotFound):
                    network.remove()


@pytest.fixture(scope="module")
def stack_images(engine: docker.DockerClient) -> None:
    for target in ("gateway", FAMILY):
        build_image(target)


@dataclass
class Stack:
    name: str
    key: str
    engine: docker.DockerClient

    def service(self, short: str) -> Any:
        return self.engine.services.get(f"{self.name}_{short}")

    def logs(self, short: str = "gateway") -> str:
        proc = subprocess.run(
            ["docker", "service", "logs", "--no-task-ids", "--tail", "40", f"{self.name}_{short}"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return f"\n--- {short} logs ---\n{(proc.stdout + proc.stderr)[-4000:]}"

    def task_addresses(self, short: str) -> set[str]:
        """The stack-network addresses of the service's tasks that Swarm reports running (healthy)."""
        out: set[str] = set()
        for task in self.service(short).tasks(filters={"desired-state": "running"}):
            if task["Status"]["State"] != "running":
                continue
            for attachment in task.get("NetworksAttachments", []):
                if attachment["Network"]["Spec"]["Name"] == f"{self.name}_default":
                    out |= {address.split("/")[0] for address in attachment["Addresses"]}
        return out

    def gateway_url(self) -> str | None:
        """Where the gateway's running task publishes 11435 on this host (host mode: on its node)."""
        label = f"com.docker.swarm.service.name={self.name}_gateway"
        for container in self.engine.containers.list(filters={"label": label, "status": "running"}, ignore_removed=True):
            for binding in container.ports.get("11435/tcp") or []:
                if binding["HostIp"] in ("0.0.0.0", "127.0.0.1"):
                    return f"http://127.0.0.1:{binding['HostPort']}"
        return None

    def leftovers(self) -> list[str]:
        label = f"com.docker.stack.namespace={self.name}"
        found = [f"service {s.name}" for s in self.engine.services.list(filters={"label": label})]
        found += [f"container {c.name}" for c in self.engine.containers.list(all=True, filters={"label": label}, ignore_removed=True)]
        found += [f"network {n.name}" for n in self.engine.networks.list(filters={"label": label})]
        return found


def stack_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", "stack", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def stack(engine: docker.DockerClient, swarm: None, stack_images: None, instance: str) -> Iterator[Stack]:
    name = f"tollama-{instance}"
    key = secrets.token_hex(16)
    secret = engine.secrets.create(
        name=f"{name}-api-keys", data=f"admin:{key}\n".encode(), labels={"tollama.instance": instance}
    )
    env = {**os.environ, "TOLLAMA_PUBLISHED_PORT": "0", "TOLLAMA_API_KEYS_SECRET": str(secret.name)}
    # --resolve-image never: the images are local; a registry is not asked for their digests.
    deployed = stack_cli("deploy", "--resolve-image", "never", "--compose-file", str(STACK_FILE), name, env=env)
    try:
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        yield Stack(name, key, engine)
    finally:
        stack_cli("rm", name)
        try:
            wait_for(
                lambda: not Stack(name, key, engine).leftovers(),
                120,
                f"stack {name}'s services, containers and networks to go",
            )
        finally:
            with contextlib.suppress(docker.errors.NotFound):
                engine.volumes.get(f"{name}_models").remove()
            secret.remove()


def wait(stack: Stack, condition: Callable[[], Any], timeout: float, what: str, logs_of: str = "gateway") -> Any:
    """:func:`wait_for`, failing with the service's last log lines."""
    try:
        return wait_for(condition, timeout, what)
    except pytest.fail.Exception as exc:
        pytest.fail(f"{exc}{stack.logs(logs_of)}", pytrace=False)


def healthy_replicas(http: httpx.Client) -> dict[str, int]:
    """The gateway's view: healthy replica address → calls it served."""
    resp = http.get("/api/ps")
    assert resp.status_code == 200, resp.text
    replicas = resp.json()["replicas"].get(FAMILY, [])
    return {urlsplit(r["url"]).hostname or "": r["served"] for r in replicas if r["healthy"]}


_CALLS = itertools.count()


def forecast(http: httpx.Client, stack: Stack) -> None:
    """One naive forecast that reaches a replica: each call ends its series on a new value, so the
    gateway's result cache never answers it."""
    last = 1000.0 + next(_CALLS)
    body = {**NAIVE, "series": [{**SERIES[0], "target": [*SERIES[0]["target"], last]}]}
    resp = http.post("/api/forecast", json=body)
    assert resp.status_code == 200, resp.text + stack.logs()
    (series,) = resp.json()["forecasts"]
    assert series["mean"] == pytest.approx([last] * 4, rel=1e-6)  # naive: the last value


def sees(http: httpx.Client, stack: Stack, replicas: int) -> bool:
    """The gateway's healthy replicas are exactly the service's running tasks, and there are ``replicas``."""
    tasks = stack.task_addresses(FAMILY)
    return len(tasks) == replicas and set(healthy_replicas(http)) == tasks


def spread(http: httpx.Client, stack: Stack, calls: int) -> dict[str, int]:
    """Send ``calls`` forecasts one after another; the calls each healthy replica served meanwhile."""
    before = healthy_replicas(http)
    for _ in range(calls):
        forecast(http, stack)
    after = healthy_replicas(http)
    return {address: after[address] - before.get(address, 0) for address in after}


def test_stack_deploys_forecasts_and_follows_scaling(stack: Stack) -> None:
    started = time.monotonic()
    base = wait_for(stack.gateway_url, 180, "the gateway task to publish its port")
    with httpx.Client(base_url=base, timeout=60) as http:
        wait(
            stack, lambda: _answers(http, "/readyz"), 240, "the gateway's /readyz (a baseline replica healthy)", FAMILY
        )
        assert http.get("/api/ps").status_code == 401  # the API keys came from the Swarm secret
        http.headers["Authorization"] = f"Bearer {stack.key}"
        assert http.get("/api/info").json()["runtime"] == "static"

        forecast(http, stack)  # the family's worker handle opens: tasks.baseline is resolved
        wait(stack, lambda: sees(http, stack, 2), 180, "the gateway to see both baseline tasks", FAMILY)
        served = spread(http, stack, 6)
        assert len(served) == 2 and all(n > 0 for n in served.values()), served  # both replicas took calls
        deployed = time.monotonic()

        stack.service(FAMILY).scale(3)
        wait(stack, lambda: sees(http, stack, 3), 180, "the gateway to see a third baseline task", FAMILY)
        served = spread(http, stack, 9)
        assert len(served) == 3 and all(n > 0 for n in served.values()), served
        scaled_up = time.monotonic()

        stack.service(FAMILY).scale(2)
        wait(stack, lambda: sees(http, stack, 2), 120, "the gateway to drop the removed baseline task")
        served = spread(http, stack, 4)
        assert len(served) == 2 and all(n > 0 for n in served.values()), served

    removed = stack_cli("rm", stack.name)
    assert removed.returncode == 0, removed.stderr
    wait_for(lambda: not stack.leftovers(), 120, "the stack's services, containers and networks to go")
    sys.stderr.write(
        f"[swarm] ready and spread {deployed - started:.0f}s, scaled to 3 {scaled_up - deployed:.0f}s, "
        f"back to 2 and removed {time.monotonic() - scaled_up:.0f}s\n"
    )


def _answers(http: httpx.Client, path: str) -> bool:
    try:
        return http.get(path).status_code == 200
    except httpx.TransportError:
        return False  # the port is published before the server in the task listens
