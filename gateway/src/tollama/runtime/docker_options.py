"""Run options: what ``containers.run`` is asked for when a family's worker container starts.

Labels (managed, instance, family, owner), the model store mounted read-only, offline hub
variables, thread counts, the network or a loopback-only published port, and the GPU request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from docker.types import DeviceRequest

from tollama.runtime.docker_engine import FAMILY, WORKER_PORT
from tollama.runtime.owner import OWNER


@dataclass
class RunOptions:
    labels: dict[str, str]  # managed + instance: also the filter for this gateway's containers
    owner: str
    store_source: str  # a host path or a volume name
    network: str | None
    threads: int

    def for_family(self, family: str, name: str, mount_point: str, gpus: DeviceRequest | None) -> dict[str, Any]:
        environment = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        options: dict[str, Any] = {
            "name": name,
            "detach": True,
            "labels": {**self.labels, FAMILY: family, OWNER: self.owner},
            "volumes": {self.store_source: {"bind": mount_point, "mode": "ro"}},
            "environment": environment,
        }
        if self.threads:
            environment.update(OMP_NUM_THREADS=str(self.threads), MKL_NUM_THREADS=str(self.threads))
        if self.network:
            options["network"] = self.network
        else:
            options["ports"] = {f"{WORKER_PORT}/tcp": ("127.0.0.1",)}  # loopback only, port picked by the engine
        if gpus is not None:
            options["device_requests"] = [gpus]
            # cuda:N inside the container counts the GPUs it was given in nvidia-smi (PCI bus) order
            environment["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"
        return options
