"""What the docker runtime asks the engine for, against a recording fake of the SDK (no engine).

GPU device requests only for the CUDA variant with TOLLAMA_GPUS set; a private network and no
host port in compose, a loopback-only port otherwise; read-only store; labels; only this
instance's managed containers are touched; images are checked before they are run.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import docker.errors
import pytest
from tollama.errors import RuntimeNotInstalled
from tollama.runtime.docker import DockerRuntime
from tollama.runtime.owner import OWNER, owner_alive, this_gateway
from tollama.settings import Settings
from tollama_kit.protocol import PROTOCOL_VERSION


class FakeContainer:
    def __init__(self, name: str, labels: dict[str, str]) -> None:
        self.id = f"id-{name}"
        self.name = name
        self.labels = labels
        self.status = "running"
        self.ports = {"8000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "49153"}]}
        self.removed = False

    def reload(self) -> None:
        return None

    def remove(self, force: bool = False) -> None:
        self.removed = True

    def stop(self, timeout: int = 10) -> None:
        self.status = "exited"


class FakeEngine:
    def __init__(self, image_labels: dict[str, str] | None = None, existing: list[FakeContainer] | None = None) -> None:
        self.runs: list[tuple[str, dict[str, Any]]] = []
        self.list_filters: list[dict[str, Any]] = []
        self.image_labels = image_labels
        self.existing = existing or []
        self.containers = SimpleNamespace(run=self._run, list=self._list)
        self.images = SimpleNamespace(get=self._get, list=lambda filters: [])
        self.api = SimpleNamespace(logs=lambda *a, **k: iter(()))

    def _run(self, image: str, **options: Any) -> FakeContainer:
        self.runs.append((image, options))
        return FakeContainer(options["name"], options["labels"])

    def _list(self, all: bool = False, filters: dict[str, Any] | None = None, ignore_removed: bool = False) -> list[FakeContainer]:
        assert ignore_removed, "a container removed between docker-py's listing and its inspection must not raise"
        self.list_filters.append(filters or {})
        return self.existing

    def _get(self, name: str) -> Any:
        if self.image_labels is None:
            raise docker.errors.ImageNotFound(f"No such image: {name}")
        return SimpleNamespace(labels=self.image_labels, tags=[name])

    def close(self) -> None:
        return None


def runtime_for(engine: FakeEngine, tmp_path: Path, **settings: Any) -> DockerRuntime:
    return DockerRuntime(engine, Settings(home=tmp_path, docker_instance="inst", **settings))


GOOD = {"tollama.family": "chronos", "tollama.protocol": str(PROTOCOL_VERSION)}


@pytest.mark.parametrize(
    ("variant", "gpus", "expected"),
    [
        ("cpu", "", None),
        ("cpu", "all", None),  # CPU images never get GPUs
        ("cuda", "", None),  # no TOLLAMA_GPUS: no GPUs
        ("cuda", "all", {"Count": -1, "DeviceIDs": []}),
        ("cuda", "0, 2", {"Count": 0, "DeviceIDs": ["0", "2"]}),
    ],
)
def test_gpu_device_requests(tmp_path: Path, variant: str, gpus: str, expected: dict[str, Any] | None) -> None:
    engine = FakeEngine(GOOD)
    runtime = runtime_for(engine, tmp_path, variant=variant, gpus=gpus)
    runtime._run("chronos", runtime._image("chronos"))
    ((image, options),) = engine.runs
    assert image == f"tollama/chronos:{variant}"
    requests = options.get("device_requests")
    if expected is None:
        assert requests is None
    else:
        (req,) = requests
        assert (req["Count"], req["DeviceIDs"], req["Capabilities"]) == (
            expected["Count"],
            expected["DeviceIDs"],
            [["gpu"]],
        )


def test_standalone_gateway_publishes_on_loopback_only(tmp_path: Path) -> None:
    engine = FakeEngine(GOOD)
    runtime = runtime_for(engine, tmp_path)
    worker = runtime._run("chronos", runtime._image("chronos"))
    ((_, options),) = engine.runs
    assert options["ports"] == {"8000/tcp": ("127.0.0.1",)}
    assert "network" not in options
    assert options["volumes"] == {str(tmp_path / "models"): {"bind": "/models", "mode": "ro"}}
    assert options["labels"] == {
        "tollama.managed": "1",
        "tollama.instance": "inst",
        "tollama.family": "chronos",
        OWNER: this_gateway(),
    }
    assert owner_alive(options["labels"][OWNER])  # this process is the owner it records
    assert worker.base_url == "http://127.0.0.1:49153"
    snapshot = tmp_path / "models" / "snapshots" / "abc"
    assert runtime.worker_path(snapshot) == "/models/snapshots/abc"


def test_gateway_in_compose_joins_the_network_without_host_ports(tmp_path: Path) -> None:
    engine = FakeEngine(GOOD)
    runtime = runtime_for(engine, tmp_path, docker_network="tollama", store_volume="tollama-models")
    worker = runtime._run("chronos", runtime._image("chronos"))
    ((_, options),) = engine.runs
    assert options["network"] == "tollama"
    assert "ports" not in options
    assert options["volumes"] == {"tollama-models": {"bind": "/models", "mode": "ro"}}
    assert worker.base_url == f"http://{options['name']}:8000"
    assert options["name"].startswith("tollama-chronos-")


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        (None, "is not built"),
        ({"tollama.protocol": "1"}, "not a tollama chronos worker image"),
        ({"tollama.family": "chronos", "tollama.protocol": "999"}, "protocol '999'"),
    ],
)
def test_only_matching_tollama_images_are_run(tmp_path: Path, labels: dict[str, str] | None, match: str) -> None:
    engine = FakeEngine(labels)
    with pytest.raises(RuntimeNotInstalled, match=match):
        runtime_for(engine, tmp_path)._image("chronos")
    assert engine.runs == []


def test_reconcile_lists_only_this_instances_managed_containers(tmp_path: Path) -> None:
    orphan = FakeContainer("old", {"tollama.managed": "1", "tollama.instance": "inst", "tollama.family": "chronos"})
    engine = FakeEngine(GOOD, existing=[orphan])
    assert runtime_for(engine, tmp_path).reconcile() == [orphan.id]
    assert orphan.removed
    assert engine.list_filters == [{"label": ["tollama.managed=1", "tollama.instance=inst"]}]


def test_check_uses_the_cached_image_list(tmp_path: Path) -> None:
    runtime = runtime_for(FakeEngine(GOOD), tmp_path)
    runtime.refresh_images()  # the fake lists no images
    with pytest.raises(RuntimeNotInstalled, match="just image chronos cpu"):
        runtime.check("chronos")
    runtime._image("chronos")  # an authoritative look-up updates the cache
    runtime.check("chronos")


def test_worker_threads_reach_the_container(tmp_path: Path) -> None:
    engine = FakeEngine(GOOD)
    runtime = runtime_for(engine, tmp_path, worker_threads=2)
    runtime._run("chronos", runtime._image("chronos"))
    ((_, options),) = engine.runs
    assert options["environment"]["OMP_NUM_THREADS"] == options["environment"]["MKL_NUM_THREADS"] == "2"


def test_reconcile_keeps_containers_of_a_live_gateway_and_tolerates_removals_in_progress(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tollama.runtime.owner import OWNER, owner_alive, this_gateway

    base = {"tollama.managed": "1", "tollama.instance": "inst", "tollama.family": "chronos"}
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        import socket

        from tollama.runtime.owner import _start_ticks

        live_owner = f"{socket.gethostname()}/{live.pid}/{_start_ticks(live.pid)}"
        dead = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
        )
        dead_owner = f"{socket.gethostname()}/{dead.stdout.strip()}/1"
        assert (
            owner_alive(live_owner)
            and not owner_alive(dead_owner)
            and owner_alive("elsewhere/1/1")
            and owner_alive(this_gateway())
        )
        kept = FakeContainer("theirs", {**base, OWNER: live_owner})
        other_host = FakeContainer("remote", {**base, OWNER: "another-host/7/99"})
        orphan = FakeContainer("orphan", {**base, OWNER: dead_owner})
        legacy = FakeContainer("legacy", dict(base))
        going = FakeContainer("going", dict(base))

        def conflict(force: bool = False) -> None:
            raise docker.errors.APIError("409 Conflict", response=SimpleNamespace(status_code=409, reason="Conflict"))  # type: ignore[arg-type]

        going.remove = conflict  # type: ignore[method-assign]
        engine = FakeEngine(GOOD, existing=[kept, other_host, orphan, legacy, going])
        assert runtime_for(engine, tmp_path).reconcile() == [orphan.id, legacy.id]
        assert not kept.removed and not other_host.removed
    finally:
        live.kill()
        live.wait()


def test_started_containers_record_their_owner(tmp_path: Path) -> None:
    from tollama.runtime.owner import OWNER, this_gateway

    runtime = runtime_for(FakeEngine(GOOD), tmp_path)
    assert runtime.owner == this_gateway() and runtime.labels.get(OWNER) is None  # the filter stays instance-wide


def test_every_worker_container_is_confined(tmp_path: Path) -> None:
    """Non-root, read-only root filesystem with tmpfs where a worker writes, no new privileges,
    no capabilities, a pids limit: asked for whatever the variant, network or GPUs."""
    for settings in ({}, {"docker_network": "tollama", "store_volume": "v"}, {"variant": "cuda", "gpus": "all"}):
        engine = FakeEngine(GOOD)
        runtime = runtime_for(engine, tmp_path, **settings)
        runtime._run("chronos", runtime._image("chronos"))
        ((_, options),) = engine.runs
        assert options["user"] == "10001:10001"
        assert options["read_only"] is True
        assert options["tmpfs"] == {
            "/tmp": "rw,nosuid,nodev,size=1g,mode=1777",
            "/home/tollama": "rw,nosuid,nodev,size=512m,uid=10001,gid=10001",
        }
        assert options["environment"]["HOME"] == "/home/tollama"
        assert options["security_opt"] == ["no-new-privileges:true"]
        assert options["cap_drop"] == ["ALL"]
        assert "cap_add" not in options and "privileged" not in options
        assert options["pids_limit"] == 1024
        assert all(v["mode"] == "ro" for v in options["volumes"].values())
