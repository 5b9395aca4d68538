"""GPU device requests: which GPUs a family's container asks the engine for."""

from __future__ import annotations

from docker.types import DeviceRequest

from tollama.settings import GpuAssignment


def gpu_request(variant: str, gpus: GpuAssignment, family: str) -> DeviceRequest | None:
    """CUDA variant only: the family's ``TOLLAMA_FAMILY_GPUS`` set if listed, else ``TOLLAMA_GPUS``;
    None for no GPU. Inside the container its GPUs are numbered from 0 (``cuda:0`` is the first)."""
    if variant != "cuda":
        return None
    ids = gpus.for_family(family)
    if ids == "all":
        return DeviceRequest(count=-1, capabilities=[["gpu"]])
    if not ids:
        return None
    return DeviceRequest(device_ids=list(ids), capabilities=[["gpu"]])
