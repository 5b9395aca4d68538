"""The container tier: real Docker, real images, marker ``docker``.

Without a reachable engine these tests are skipped locally and FAIL under CI (``CI`` set):
CI must run them (`just docker-engine` installs and starts the engine first).

Session fixtures build the images the tier needs with ``scripts/build-image.sh`` (the gateway,
baseline and chronos CPU images: the product's own tags, cached by Docker's layer cache, so an
unchanged tree rebuilds in seconds) and a tiny random chronos-bolt checkpoint in the hub's
layout. Every test gets its own ``tollama.instance`` label, and cleans up what carries it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest
import requests
from tollama.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ("gateway", "baseline", "chronos")
SERIES = [{"id": "a", "target": [float(i % 7) + 0.1 * i for i in range(48)]}]


@pytest.fixture(scope="session")
def engine() -> Iterator[docker.DockerClient]:
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except (docker.errors.DockerException, requests.RequestException) as exc:
        if os.environ.get("CI"):
            pytest.fail(
                f"CI is set but no Docker engine answers ({exc}); `just docker-engine` starts one", pytrace=False
            )
        pytest.skip(f"no Docker engine answers ({exc}); `just docker-engine` starts one")
    yield client
    client.close()


def build_image(target: str, variant: str = "cpu") -> None:
    started = time.monotonic()
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts" / "build-image.sh"), target, variant],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(
            f"building the {target} {variant} image failed:\n{(proc.stdout + proc.stderr)[-4000:]}", pytrace=False
        )
    sys.stderr.write(f"[docker tier] {target} {variant} image ready in {time.monotonic() - started:.0f}s\n")


@pytest.fixture(scope="session")
def images(engine: docker.DockerClient) -> dict[str, str]:
    for target in IMAGES:
        build_image(target)
    return {"gateway": "tollama/gateway:latest", "baseline": "tollama/baseline:cpu", "chronos": "tollama/chronos:cpu"}


@pytest.fixture(scope="session")
def chronos_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The files of a tiny random chronos-bolt-tiny checkpoint, built with chronos-forecasting."""
    runtimes = Settings.from_env().runtimes_dir
    python = runtimes / "chronos-cpu" / "bin" / "python"
    if not python.exists():
        subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "family_env.py"), "chronos", "--tests"], cwd=ROOT, check=True
        )
    out = tmp_path_factory.mktemp("chronos-ckpt")
    subprocess.run(
        [str(python), str(ROOT / "families/chronos/tests/fixtures_cli.py"), "build", "chronos-bolt-tiny", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.fixture
def instance(engine: docker.DockerClient) -> Iterator[str]:
    """A fresh ``tollama.instance`` label value; whatever carries it is removed afterwards."""
    name = f"test-{secrets.token_hex(4)}"
    yield name
    for container in engine.containers.list(
        all=True, filters={"label": f"tollama.instance={name}"}, ignore_removed=True
    ):
        with contextlib.suppress(docker.errors.NotFound):  # the gateway removed it since the listing
            container.remove(force=True)


def managed(engine: docker.DockerClient, instance: str, **labels: str) -> list[Any]:
    """The gateway's worker containers of ``instance``. docker-py lists, then inspects each one: a
    container the gateway removes in between is left out rather than raising NotFound."""
    filters = [f"tollama.instance={instance}", "tollama.managed=1", *(f"{k}={v}" for k, v in labels.items())]
    return engine.containers.list(all=True, filters={"label": filters}, ignore_removed=True)


def assert_hardened(container: Any, store: str = "/models") -> None:
    """A worker container as the docker runtime confines it (docs/security.md), read back from the
    engine, and checked from inside: not root, root filesystem read-only, /tmp and home writable."""
    host, config = container.attrs["HostConfig"], container.attrs["Config"]
    assert config["User"] == "10001:10001"
    assert host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"]
    assert not host.get("CapAdd")
    assert host["SecurityOpt"] == ["no-new-privileges:true"]
    assert host["PidsLimit"] == 1024
    assert set(host["Tmpfs"]) == {"/tmp", "/home/tollama"}
    assert host["Privileged"] is False
    (mount,) = container.attrs["Mounts"]
    assert (mount["Destination"], mount["RW"]) == (store, False)
    probe = (
        "id -u; grep CapEff /proc/self/status; grep NoNewPrivs /proc/self/status; "
        "touch /tmp/ok && echo tmp-writable; touch $HOME/ok && echo home-writable; "
        f"touch /root-write 2>/dev/null || echo root-read-only; touch {store}/x 2>/dev/null || echo store-read-only"
    )
    code, out = container.exec_run(["sh", "-c", probe])
    lines = out.decode().split()
    assert code == 0, out
    assert lines[0] == "10001"
    assert lines[lines.index("CapEff:") + 1] == "0000000000000000"
    assert lines[lines.index("NoNewPrivs:") + 1] == "1"
    for word in ("tmp-writable", "home-writable", "root-read-only", "store-read-only"):
        assert word in lines, out


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll external state (the engine, a server) until ``condition()`` is truthy, or fail."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)


def hub_layout(files: dict[str, bytes], repo: str, root: Path) -> Path:
    """Write a checkpoint as ``root/<org>/<name>/...`` (what hub_main.py serves), world-readable."""
    target = root / repo
    shutil.rmtree(target, ignore_errors=True)
    for rel, data in files.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(0o644)
    return root
