"""Prometheus metrics, in the text exposition format (no client library needed)."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tollama.scheduler import Scheduler

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    def __init__(self) -> None:
        self.requests: Counter[tuple[str, int]] = Counter()
        self.buckets: Counter[float] = Counter()
        self.seconds_sum = 0.0
        self.seconds_count = 0

    def forecast_done(self, model: str, status: int, seconds: float) -> None:
        self.requests[(model, status)] += 1
        self.seconds_sum += seconds
        self.seconds_count += 1
        for b in _BUCKETS:
            if seconds <= b:
                self.buckets[b] += 1

    def render(self, scheduler: Scheduler) -> str:
        lines = [
            "# HELP tollama_forecast_requests_total Forecast requests by model and HTTP status.",
            "# TYPE tollama_forecast_requests_total counter",
        ]
        for (model, status), n in sorted(self.requests.items()):
            lines.append(f'tollama_forecast_requests_total{{model="{_esc(model)}",status="{status}"}} {n}')
        lines += [
            "# HELP tollama_forecast_seconds Forecast latency through the gateway.",
            "# TYPE tollama_forecast_seconds histogram",
        ]
        for b in _BUCKETS:
            lines.append(f'tollama_forecast_seconds_bucket{{le="{b}"}} {self.buckets[b]}')
        lines.append(f'tollama_forecast_seconds_bucket{{le="+Inf"}} {self.seconds_count}')
        lines.append(f"tollama_forecast_seconds_sum {self.seconds_sum}")
        lines.append(f"tollama_forecast_seconds_count {self.seconds_count}")
        slots = scheduler.loaded()
        lines += [
            "# HELP tollama_loaded_models Models loaded in workers.",
            "# TYPE tollama_loaded_models gauge",
            f"tollama_loaded_models {len(slots)}",
            "# HELP tollama_loaded_model_bytes Memory held by loaded models.",
            "# TYPE tollama_loaded_model_bytes gauge",
            f"tollama_loaded_model_bytes {sum(s.memory for s in slots)}",
            "# HELP tollama_worker_starts_total Family workers started.",
            "# TYPE tollama_worker_starts_total counter",
            f"tollama_worker_starts_total {scheduler.starts}",
        ]
        return "\n".join(lines) + "\n"


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
