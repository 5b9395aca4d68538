"""Log following: one daemon thread per worker container copies its log into the worker's line
buffer, so that ``log_tail()`` (in error bodies) is a buffer read, never an engine call."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from tollama.runtime.docker_worker import DockerWorker


def follow_logs(streams: Any, worker: DockerWorker) -> threading.Thread:
    """Start the thread that follows ``worker``'s log until the container is gone."""
    thread = threading.Thread(target=_follow, args=(streams, worker), name=f"tollama-logs-{worker.name}", daemon=True)
    thread.start()
    return thread


def _follow(streams: Any, worker: DockerWorker) -> None:
    partial = ""
    with contextlib.suppress(Exception):  # the stream ends (or fails) when the container goes
        for chunk in streams.api.logs(worker.id, stream=True, follow=True):
            lines = (partial + chunk.decode(errors="replace")).split("\n")
            partial = lines.pop()
            worker.logs.extend(lines)
    if partial:
        worker.logs.append(partial)
