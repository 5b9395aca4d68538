"""The port a ``tollama serve`` started with ``TOLLAMA_PORT=0`` reports (shared by the integration and
docker tiers: the OS picks the port, so no free-port race)."""

from __future__ import annotations

import queue
import re
import subprocess
import threading
import time


def listening_port(proc: subprocess.Popen[bytes], timeout: float = 180.0) -> int:
    """The port in ``tollama serve``'s "listening on http://host:PORT" line (read by a thread, bounded)."""
    lines: queue.Queue[bytes] = queue.Queue()
    assert proc.stdout is not None
    stdout = proc.stdout

    def read() -> None:
        for line in iter(stdout.readline, b""):
            lines.put(line)
        lines.put(b"")

    threading.Thread(target=read, daemon=True).start()
    seen: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        if not line:
            raise AssertionError(f"tollama serve exited ({proc.wait()}):\n{b''.join(seen).decode(errors='replace')}")
        seen.append(line)
        found = re.search(rb"listening on http://[^:\s]+:(\d+)", line)
        if found:
            return int(found.group(1))
    raise AssertionError(f"tollama serve did not report its port within {timeout:.0f} s:\n{b''.join(seen).decode(errors='replace')}")
