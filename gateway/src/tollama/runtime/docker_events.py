"""Event watching: one daemon thread follows the engine's ``die``/``destroy`` events for this
gateway's containers and marks their workers dead, so that ``alive()`` is a flag read. After each
(re)subscription it checks the known workers once, for whatever died while it was not listening;
a broken stream is re-opened with backoff until :meth:`DeathWatcher.close`."""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any

from tollama.runtime.docker_engine import container_status
from tollama.runtime.docker_worker import DockerWorker

log = logging.getLogger("tollama.runtime.docker")


class DeathWatcher:
    def __init__(self, streams: Any, label_filter: list[str], workers: dict[str, DockerWorker]) -> None:
        self.streams = streams
        self.filters = {"type": "container", "event": ["die", "destroy"], "label": label_filter}
        self.workers = workers  # by container id; the runtime adds and removes entries
        self._closing = threading.Event()
        self._events: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._watch, name="tollama-docker-events", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Ask the thread to stop (non-blocking); :meth:`join` waits for it."""
        self._closing.set()
        if self._events is not None:
            with contextlib.suppress(Exception):
                self._events.close()

    def join(self, timeout: float = 5) -> None:
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    def _watch(self) -> None:
        backoff = 0.5
        while not self._closing.is_set():
            try:
                self._events = self.streams.events(decode=True, filters=self.filters)
                self._mark_gone()
                for event in self._events:
                    worker = self.workers.get(event.get("id", ""))
                    if worker is not None and not worker.dead:
                        log.warning("the %s container %s died (%s)", worker.family, worker.name, event.get("status"))
                        worker.dead = True
                backoff = 0.5
            except Exception:
                log.debug("docker event stream failed", exc_info=True)
            self._closing.wait(backoff)
            backoff = min(backoff * 2, 10.0)

    def _mark_gone(self) -> None:
        for worker in list(self.workers.values()):
            if not worker.dead and container_status(worker.container) not in ("running", "created", "restarting"):
                worker.dead = True
