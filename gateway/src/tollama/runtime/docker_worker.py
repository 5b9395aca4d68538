"""One running family container as a :class:`~tollama.runtime.base.WorkerHandle`: its worker
client, a ``dead`` flag (set by the event watcher, by ``stop``, or by a failed status check) and
the buffer of log lines its log follower fills."""

from __future__ import annotations

from collections import deque
from typing import Any

import httpx

from tollama.worker_client import WorkerClient

LOG_LINES = 200


class DockerWorker:
    def __init__(self, family: str, container: Any, base_url: str, request_timeout: float) -> None:
        self.family = family
        self.container = container
        self.id: str = container.id
        self.name: str = container.name
        self.base_url = base_url
        self.dead = False
        self.logs: deque[str] = deque(maxlen=LOG_LINES)
        self.client = WorkerClient(family, httpx.AsyncClient(base_url=base_url, timeout=request_timeout), self.log_tail)

    def alive(self) -> bool:
        return not self.dead

    def log_tail(self) -> str:
        return "\n".join(self.logs)[-4000:]
