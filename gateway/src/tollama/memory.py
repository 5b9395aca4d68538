"""Memory: the budget a gateway may fill with loaded models, and the estimate made before a load.

- **Budget** (:func:`ram_budget`): ``TOLLAMA_MEMORY_BUDGET`` in bytes (``0`` = no limit), or ``auto``
  (the default): :data:`RAM_SHARE` of the RAM available when the gateway starts.
  ``TOLLAMA_VRAM_BUDGET`` bounds models on CUDA devices the same way (``0`` = none; ``auto``: no
  gateway-side bound, a worker's CUDA out-of-memory is answered 507 ``out_of_memory``).
- **Estimate** (:class:`Estimator`): before a model is loaded, what it will take: what this very
  model measured when it was last loaded; else its registry size × its family's factor, where the
  factor starts at :data:`DEFAULT_FACTOR` and becomes the mean of measured ÷ registry size over the
  family's earlier loads (at most :data:`MAX_FACTOR`) (families are keys here, never names in code).
- **Measured**: the worker reports the resident-memory growth of its process across the load (and
  the CUDA memory allocated on a GPU); that is what a loaded model counts against the budget.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field

RAM_SHARE = 0.8
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
    units = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
    number = text.rstrip("kKmMgGtTiIbB")
    unit = text[len(number):].strip().lower()
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if unit not in units or value < 0:
        raise ValueError(f"{setting}={raw!r}: expected auto, 0 (no limit) or a size such as 8GiB or 8000000000")
    return int(value * units[unit])


def ram_budget(raw: str) -> int:
    return parse_budget(raw, "TOLLAMA_MEMORY_BUDGET", int(available_ram() * RAM_SHARE))


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
