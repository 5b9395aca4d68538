"""Which GPUs a family's worker gets, without a GPU or an engine: the docker runtime's device
requests (against a recording fake of the SDK) and the process runtime's CUDA_VISIBLE_DEVICES."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from tollama.runtime.docker import DockerRuntime
from tollama.runtime.environments import env_dir, env_python
from tollama.runtime.process import ProcessRuntime
from tollama.settings import Settings
from tollama_kit.protocol import PROTOCOL_VERSION

FAMILY_GPUS = "timesfm=1;chronos=0,2;uni2ts=all;toto="


class RecordingEngine:
    """The part of the Docker SDK that ``DockerRuntime._run`` uses; records each ``containers.run``."""

    def __init__(self) -> None:
        self.runs: list[tuple[str, dict[str, Any]]] = []
        self.containers = SimpleNamespace(run=self._run)
        self.images = SimpleNamespace(get=self._get)
        self.api = SimpleNamespace(logs=lambda *a, **k: iter(()))

    def _run(self, image: str, **options: Any) -> Any:
        self.runs.append((image, options))
        ports = {"8000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "49153"}]}
        return SimpleNamespace(id=f"id-{options['name']}", name=options["name"], ports=ports, reload=lambda: None)

    def _get(self, name: str) -> Any:
        family = name.removeprefix("tollama/").partition(":")[0]
        return SimpleNamespace(labels={"tollama.family": family, "tollama.protocol": str(PROTOCOL_VERSION)}, tags=[name])


def start_options(tmp_path: Path, family: str, **settings: Any) -> dict[str, Any]:
    """What the runtime asks the engine for when it starts ``family``'s container."""
    engine = RecordingEngine()
    runtime = DockerRuntime(engine, Settings(home=tmp_path, docker_instance="inst", **settings))
    runtime._run(family, runtime._image(family))
    ((image, options),) = engine.runs
    assert image == f"tollama/{family}:{settings.get('variant', 'cpu')}"
    return options


def gpus_requested(options: dict[str, Any]) -> tuple[int, list[str]] | None:
    requests = options.get("device_requests")
    if requests is None:
        assert "CUDA_DEVICE_ORDER" not in options["environment"]
        return None
    (req,) = requests
    assert req["Driver"] == "" and req["Capabilities"] == [["gpu"]]
    assert options["environment"]["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID"  # cuda:N counts in nvidia-smi order
    return req["Count"], req["DeviceIDs"]


@pytest.mark.parametrize(
    ("family", "gpus", "expected"),
    [
        ("timesfm", "", (0, ["1"])),  # the family's own set
        ("timesfm", "all", (0, ["1"])),  # ... replaces TOLLAMA_GPUS
        ("chronos", "3", (0, ["0", "2"])),
        ("uni2ts", "0", (-1, [])),  # all
        ("toto", "all", None),  # listed with no ids: no GPU
        ("granite", "all", (-1, [])),  # not listed: TOLLAMA_GPUS
        ("granite", "0, 3", (0, ["0", "3"])),
        ("granite", "", None),  # not listed and no TOLLAMA_GPUS: no GPU
    ],
)
def test_cuda_containers_get_their_familys_gpus(tmp_path: Path, family: str, gpus: str, expected: tuple[int, list[str]] | None) -> None:
    options = start_options(tmp_path, family, variant="cuda", gpus=gpus, family_gpus=FAMILY_GPUS)
    assert gpus_requested(options) == expected


@pytest.mark.parametrize("family", ["timesfm", "uni2ts", "granite"])
def test_cpu_containers_never_get_gpus(tmp_path: Path, family: str) -> None:
    options = start_options(tmp_path, family, variant="cpu", gpus="all", family_gpus=FAMILY_GPUS)
    assert gpus_requested(options) is None


def test_gpu_uuids_are_passed_through(tmp_path: Path) -> None:
    uuid = "GPU-8f6c3a1e-5a2b-4c3d-9e8f-0123456789ab"
    options = start_options(tmp_path, "chronos", variant="cuda", family_gpus=f"chronos={uuid},MIG-0f1e2d3c-0000-1111-2222-333344445555")
    assert gpus_requested(options) == (0, [uuid, "MIG-0f1e2d3c-0000-1111-2222-333344445555"])


def process_runtime(tmp_path: Path, variant: str = "cuda", **settings: Any) -> ProcessRuntime:
    return ProcessRuntime(
        tmp_path / "runtimes", tmp_path / "run", variant=variant,
        gpus=Settings(home=tmp_path, **settings).gpu_assignment(),
    )


@pytest.mark.parametrize(
    ("family", "gpus", "visible"),
    [
        ("timesfm", "", "1"),
        ("chronos", "3", "0,2"),
        ("toto", "all", ""),  # listed with no ids: CUDA sees no GPU
        ("granite", "0, 3", "0,3"),  # not listed: TOLLAMA_GPUS
        ("uni2ts", "0", None),  # all: the gateway's own view, untouched
        ("granite", "", None),  # nothing set: untouched
    ],
)
def test_cuda_processes_see_their_familys_gpus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, family: str, gpus: str, visible: str | None
) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "inherited")
    monkeypatch.delenv("CUDA_DEVICE_ORDER", raising=False)
    env = process_runtime(tmp_path, gpus=gpus, family_gpus=FAMILY_GPUS).worker_env(family)
    if visible is None:
        assert env["CUDA_VISIBLE_DEVICES"] == "inherited"
        assert "CUDA_DEVICE_ORDER" not in env
    else:
        assert env["CUDA_VISIBLE_DEVICES"] == visible
        assert env["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID"


def test_cpu_processes_are_left_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    env = process_runtime(tmp_path, variant="cpu", gpus="0", family_gpus=FAMILY_GPUS).worker_env("timesfm")
    assert "CUDA_VISIBLE_DEVICES" not in env


async def test_the_worker_process_is_started_with_that_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = process_runtime(tmp_path, family_gpus=FAMILY_GPUS)
    python = env_python(env_dir(tmp_path / "runtimes", "chronos", "cuda"))
    python.parent.mkdir(parents=True)
    python.touch()
    seen: list[dict[str, str]] = []

    async def no_process(*args: str, env: dict[str, str], **kwargs: Any) -> Any:
        seen.append(env)
        raise OSError("not started in a unit test")

    monkeypatch.setattr(asyncio, "create_subprocess_exec", no_process)
    with pytest.raises(OSError, match="not started"):
        await runtime.start("chronos")
    assert [env["CUDA_VISIBLE_DEVICES"] for env in seen] == ["0,2"]
