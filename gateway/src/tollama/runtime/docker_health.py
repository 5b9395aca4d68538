"""Health polling while a container starts: ``/v1/health`` until it answers, the container's
state once a second (an exit ends the wait at once), and the start timeout; both failures carry
the container's recent log."""

from __future__ import annotations

import asyncio
import contextlib

from tollama.errors import TollamaError, WorkerUnavailable
from tollama.runtime.docker_engine import container_status, recent_logs
from tollama.runtime.docker_worker import DockerWorker


async def wait_healthy(worker: DockerWorker, start_timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + start_timeout
    next_status = loop.time() + 1.0
    delay = 0.05
    while True:
        if not worker.dead and loop.time() >= next_status:
            next_status = loop.time() + 1.0
            worker.dead = await asyncio.to_thread(container_status, worker.container) != "running"
        if worker.dead:
            raise WorkerUnavailable(
                f"the {worker.family} container {worker.name} exited while starting",
                family=worker.family,
                log_tail=await asyncio.to_thread(recent_logs, worker.container, worker.log_tail()) or None,
            )
        with contextlib.suppress(TollamaError):
            await worker.client.health(timeout=2.0)
            return
        if loop.time() > deadline:
            raise WorkerUnavailable(
                f"the {worker.family} container {worker.name} did not become healthy within {start_timeout:.0f}s",
                family=worker.family,
                log_tail=await asyncio.to_thread(recent_logs, worker.container, worker.log_tail()) or None,
            )
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 0.5)
