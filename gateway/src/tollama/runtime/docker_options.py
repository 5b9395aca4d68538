"""Run options: what ``containers.run`` is asked for when a family's worker container starts.

Labels (managed, instance, family, owner), the model store mounted read-only, offline hub
variables, thread counts, the network or a loopback-only published port, the GPU request, and
the hardening every worker container gets (docs/security.md):

- it runs as :data:`WORKER_USER`, the unprivileged user ``images/worker.Dockerfile`` creates,
  whatever the image says;
- its root filesystem is read-only; the places a worker writes (``/tmp``, and its home, where
  Hugging Face, torch and matplotlib keep their caches) are size-bounded tmpfs mounts (:data:`TMPFS`);
- ``no-new-privileges`` and every Linux capability dropped (a worker only serves HTTP on port 8000);
- at most :data:`PIDS_LIMIT` processes and threads (a fork bomb stays inside its container).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from docker.types import DeviceRequest

from tollama.runtime.docker_engine import FAMILY, WORKER_PORT
from tollama.runtime.owner import OWNER

WORKER_UID = 10001
WORKER_USER = f"{WORKER_UID}:{WORKER_UID}"
WORKER_HOME = "/home/tollama"
PIDS_LIMIT = 1024
"""Threads count: torch's intra- and inter-op pools and the tokenizers' pools reach a few hundred on
a many-core host; a thousand leaves room and still stops a runaway fork."""
TMPFS = {
    "/tmp": "rw,nosuid,nodev,size=1g,mode=1777",
    WORKER_HOME: f"rw,nosuid,nodev,size=512m,uid={WORKER_UID},gid={WORKER_UID}",
}
"""A tmpfs is root's unless told otherwise: the home is given to the worker's user."""


def hardening() -> dict[str, Any]:
    """The ``containers.run`` options that confine a worker container (fresh objects each call)."""
    return {
        "user": WORKER_USER,
        "read_only": True,
        "tmpfs": dict(TMPFS),
        "security_opt": ["no-new-privileges:true"],
        "cap_drop": ["ALL"],
        "pids_limit": PIDS_LIMIT,
    }


@dataclass
class RunOptions:
    labels: dict[str, str]  # managed + instance: also the filter for this gateway's containers
    owner: str
    store_source: str  # a host path or a volume name
    network: str | None
    threads: int

    def for_family(self, family: str, name: str, mount_point: str, gpus: DeviceRequest | None) -> dict[str, Any]:
        environment = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HOME": WORKER_HOME}
        options: dict[str, Any] = {
            "name": name,
            "detach": True,
            "labels": {**self.labels, FAMILY: family, OWNER: self.owner},
            "volumes": {self.store_source: {"bind": mount_point, "mode": "ro"}},
            "environment": environment,
            **hardening(),
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
