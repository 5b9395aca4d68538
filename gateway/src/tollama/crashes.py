"""Crash policy for family workers: restart with exponential backoff, and stop trying for a while.

Each time a family's worker is found dead (or fails to start) :meth:`CrashTracker.record` notes
it. The next start waits :meth:`delay` (``base × 2^(n-1)`` since the last crash, capped), and
after ``max_crashes`` crashes within ``window`` seconds the family is *failing*
(:meth:`failing`): requests get 503 ``worker_unavailable`` with the last log lines, ``/api/ps``
and ``/readyz`` name it, until the window has passed since the last crash or ``tollama stop``
resets it (:meth:`reset`). The clock is injected, so the policy is tested without processes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class _History:
    times: list[float] = field(default_factory=list)
    log_tail: str = ""


class CrashTracker:
    def __init__(self, clock: Callable[[], float] = time.monotonic, *, window: float = 300.0, max_crashes: int = 5,
                 base_delay: float = 0.5, max_delay: float = 30.0) -> None:
        self.clock = clock
        self.window = window
        self.max_crashes = max_crashes
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._families: dict[str, _History] = {}

    def _recent(self, family: str) -> list[float]:
        history = self._families.get(family)
        if history is None:
            return []
        cutoff = self.clock() - self.window
        history.times = [t for t in history.times if t > cutoff]
        return history.times

    def record(self, family: str, log_tail: str = "") -> None:
        history = self._families.setdefault(family, _History())
        history.times.append(self.clock())
        if log_tail.strip():
            history.log_tail = log_tail

    def delay(self, family: str) -> float:
        """Seconds to wait before the next start of ``family`` (0 when it has not crashed lately)."""
        recent = self._recent(family)
        if not recent:
            return 0.0
        wanted = min(self.max_delay, self.base_delay * 2.0 ** (len(recent) - 1))
        return max(0.0, recent[-1] + wanted - self.clock())

    def failing(self, family: str) -> str | None:
        """Why ``family`` is not started now, or None."""
        recent = self._recent(family)
        if len(recent) < self.max_crashes:
            return None
        tail = " | ".join(self._families[family].log_tail.strip().splitlines()[-5:])
        return (f"the {family} worker crashed {len(recent)} times in the last {self.window:g}s; not restarting it until that window"
                f" passes or `tollama stop` resets it" + (f"; last log lines: {tail}" if tail else ""))

    def failing_families(self) -> dict[str, str]:
        return {f: reason for f in list(self._families) if (reason := self.failing(f)) is not None}

    def log_tail(self, family: str) -> str:
        history = self._families.get(family)
        return history.log_tail if history else ""

    def reset(self, family: str) -> None:
        self._families.pop(family, None)
