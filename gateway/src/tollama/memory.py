"""Memory: the budget a gateway may fill with loaded models, and the estimate made before a load.

- **Budget** (:func:`ram_budget`): ``TOLLAMA_MEMORY_BUDGET`` in bytes (``0`` = no limit), or ``auto``
  (the default): :data:`RAM_SHARE` of the RAM available when the gateway starts.
  ``TOLLAMA_VRAM_BUDGET`` bounds models on CUDA devices the same way (``0`` = none), or ``auto``
  (the default, :func:`vram_budget`): for the CUDA variant, :data:`VRAM_SHARE` of the memory free
  at start on the GPUs the workers are given (``TOLLAMA_GPUS`` / ``TOLLAMA_FAMILY_GPUS``; all of
  them when a family gets ``all`` or nothing is assigned), as ``nvidia-smi`` reports it; no limit
  for the CPU variant or when ``nvidia-smi`` does not answer. One pool across those GPUs: a model is
  not placed on a GPU by the gateway. A worker's CUDA out-of-memory is answered 507 either way.
- **Estimate** (:class:`Estimator`): before a model is loaded, what it will take: what this very
  model measured when it was last loaded; else its registry size × its family's factor, where the
  factor starts at :data:`DEFAULT_FACTOR` and becomes the mean of measured ÷ registry size over the
  family's earlier loads (at most :data:`MAX_FACTOR`) (families are keys here, never names in code).
- **Measured**: the worker reports the resident-memory growth of its process across the load (and
  the CUDA memory allocated on a GPU); that is what a loaded model counts against the budget.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from tollama.settings import GpuAssignment

log = logging.getLogger("tollama.memory")

RAM_SHARE = 0.8
VRAM_SHARE = 0.9
NVIDIA_SMI = ("nvidia-smi", "--query-gpu=index,uuid,memory.total,memory.free", "--format=csv,noheader,nounits")
DEFAULT_FACTOR = 1.2
MAX_FACTOR = 3.0
"""A family's learned factor is capped: the first load in a fresh worker also measures the
libraries it imports, which says nothing about the next, larger model of the family."""


def available_ram() -> int:
    """``MemAvailable`` from ``/proc/meminfo`` (Linux); else physical memory; 0 if unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 0


def parse_budget(raw: str, setting: str, auto: int) -> int:
    """``auto`` → ``auto``; a byte count with an optional K/M/G/T(i)B suffix; ``0`` = no limit."""
    text = raw.strip()
    if text.lower() == "auto":
        return auto
    units = {
        "": 1,
        "b": 1,
        "kb": 10**3,
        "mb": 10**6,
        "gb": 10**9,
        "tb": 10**12,
        "kib": 2**10,
        "mib": 2**20,
        "gib": 2**30,
        "tib": 2**40,
    }
    number = text.rstrip("kKmMgGtTiIbB")
    unit = text[len(number) :].strip().lower()
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if unit not in units or value < 0:
        raise ValueError(f"{setting}={raw!r}: expected auto, 0 (no limit) or a size such as 8GiB or 8000000000")
    return int(value * units[unit])


def ram_budget(raw: str) -> int:
    return parse_budget(raw, "TOLLAMA_MEMORY_BUDGET", int(available_ram() * RAM_SHARE))


@dataclass(frozen=True)
class GpuMemory:
    index: str
    uuid: str
    total: int  # bytes
    free: int


def parse_gpu_memory(csv: str) -> list[GpuMemory]:
    """``nvidia-smi`` :data:`NVIDIA_SMI` output (MiB, one GPU a line) → :class:`GpuMemory` in bytes.
    A line that is not four fields with numeric sizes (``[N/A]``, a MIG-enabled GPU) is skipped."""
    gpus = []
    for line in csv.splitlines():
        fields = [f.strip() for f in line.split(",")]
        if len(fields) != 4 or not fields[2].isdigit() or not fields[3].isdigit():
            continue
        gpus.append(GpuMemory(fields[0], fields[1], int(fields[2]) * 2**20, int(fields[3]) * 2**20))
    return gpus


def query_gpu_memory(run: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run) -> list[GpuMemory]:
    """Blocking: the GPUs ``nvidia-smi`` lists, or [] when it is missing or fails (no driver)."""
    try:
        proc = run(list(NVIDIA_SMI), capture_output=True, text=True, timeout=15, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        log.info("no GPU memory figures (%s): TOLLAMA_VRAM_BUDGET=auto sets no limit", exc)
        return []
    if proc.returncode != 0:
        log.info("nvidia-smi exited %s: TOLLAMA_VRAM_BUDGET=auto sets no limit", proc.returncode)
        return []
    return parse_gpu_memory(proc.stdout)


def assigned_gpus(gpus: list[GpuMemory], assignment: GpuAssignment) -> list[GpuMemory]:
    """The GPUs some family's worker may be given: those named (by index or UUID) in
    ``TOLLAMA_GPUS`` / ``TOLLAMA_FAMILY_GPUS``; all of them when either says ``all`` or neither is set."""
    sets = [assignment.default, *assignment.families.values()]
    if assignment.default is None and not assignment.families:
        return gpus
    if any(ids == "all" for ids in sets):
        return gpus
    named = {gpu for ids in sets if ids for gpu in ids}
    return [g for g in gpus if g.index in named or g.uuid in named]


def vram_budget(
    raw: str, variant: str, assignment: GpuAssignment, query: Callable[[], list[GpuMemory]] = query_gpu_memory
) -> int:
    """``TOLLAMA_VRAM_BUDGET``: as :func:`parse_budget`, where ``auto`` is :data:`VRAM_SHARE` of the
    free memory of the assigned GPUs for the CUDA variant, and 0 (no limit) otherwise."""
    if raw.strip().lower() != "auto":
        return parse_budget(raw, "TOLLAMA_VRAM_BUDGET", 0)
    if variant != "cuda":
        return 0
    gpus = assigned_gpus(query(), assignment)
    budget = int(sum(min(g.free, g.total) for g in gpus) * VRAM_SHARE)
    if gpus:
        log.info(
            "TOLLAMA_VRAM_BUDGET=auto: %d bytes (%.0f%% of the free memory of GPU %s)",
            budget,
            VRAM_SHARE * 100,
            ", ".join(g.index for g in gpus),
        )
    return budget


@dataclass
class Estimator:
    by_model: dict[str, int] = field(default_factory=dict)
    ratios: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def estimate(self, key: str, family: str, size: int) -> int:
        if key in self.by_model:
            return self.by_model[key]
        ratios = self.ratios.get(family)
        factor = min(MAX_FACTOR, sum(ratios) / len(ratios)) if ratios else DEFAULT_FACTOR
        return int(size * factor)

    def measured(self, key: str, family: str, size: int, used: int) -> None:
        self.by_model[key] = used
        if size > 0 and used > 0:
            self.ratios[family].append(used / size)
