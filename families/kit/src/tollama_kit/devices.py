"""Device selection shared by the torch families (imports torch lazily: baseline has none)."""

from __future__ import annotations

import gc

from tollama_kit.errors import BadInput


def resolve_device(requested: str) -> str:
    """``auto`` → ``cuda`` when a GPU is visible, else ``mps``, else ``cpu``.

    An explicit ``cuda``/``cuda:N``/``mps`` that is not available is a :class:`BadInput`.
    """
    try:
        import torch
    except ImportError:
        if requested in ("auto", "cpu"):
            return "cpu"
        raise BadInput(f"device {requested!r} requested but this family runs on the CPU only") from None
    has_mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    if requested == "auto":
        if torch.cuda.is_available():
            return "cuda:0"
        return "mps" if has_mps else "cpu"
    if requested == "cpu":
        return "cpu"
    if requested.startswith("cuda"):
        if not torch.cuda.is_available():
            raise BadInput(f"device {requested!r} requested but no CUDA device is visible to the worker")
        index = int(requested.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise BadInput(
                f"device {requested!r} requested but only {torch.cuda.device_count()} CUDA device(s) are visible"
            )
        return f"cuda:{index}"
    if requested == "mps":
        if not has_mps:
            raise BadInput("device 'mps' requested but MPS is not available")
        return "mps"
    raise BadInput(f"device must be auto, cpu, cuda, cuda:N or mps; got {requested!r}")


def release_memory() -> None:
    """Collect garbage and return cached CUDA memory to the driver."""
    gc.collect()
    try:
        import torch
    except ImportError:
        return
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def module_bytes(*modules: object) -> int:
    """Bytes held by the parameters and buffers of torch modules (0 for anything else)."""
    total = 0
    for module in modules:
        for attr in ("parameters", "buffers"):
            fn = getattr(module, attr, None)
            if fn is None:
                continue
            total += sum(t.numel() * t.element_size() for t in fn())
    return total


def process_rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
    except OSError:
        return 0
    import os

    return pages * os.sysconf("SC_PAGE_SIZE")


def cuda_allocated_bytes(device: str) -> int:
    """CUDA memory allocated by this process on ``device`` (0 off CUDA; imports torch only there)."""
    if not device.startswith("cuda"):
        return 0
    import torch

    return int(torch.cuda.memory_allocated(device))
