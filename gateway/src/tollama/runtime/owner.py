"""Which gateway owns a worker container, and whether that gateway is still alive.

Containers carry ``tollama.owner`` = ``<host>/<pid>/<process start ticks>`` of the gateway that
started them. At start-up a gateway removes only the orphans it can prove are orphans: containers
of its instance whose owner label is missing (made before owners were recorded), or whose owner
ran on this host and is gone (no such pid, or a pid reused by a later process). A container whose
owner lives, or ran on another host (or in another container's namespace), is left alone: two
gateways sharing one engine and the default instance label never remove each other's workers.
"""

from __future__ import annotations

import os
import socket

OWNER = "tollama.owner"


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (``/proc/<pid>/stat`` field 22), or None."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            stat = fh.read()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[19]


def this_gateway() -> str:
    pid = os.getpid()
    return f"{socket.gethostname()}/{pid}/{_start_ticks(pid) or '?'}"


def owner_alive(owner: str | None) -> bool:
    """Whether the gateway named by a ``tollama.owner`` label may still be running."""
    if not owner:
        return False
    host, _, rest = owner.partition("/")
    pid_text, _, ticks = rest.partition("/")
    if host != socket.gethostname() or not pid_text.isdigit():
        return True  # cannot be checked from here: assume alive
    if int(pid_text) == os.getpid():
        return ticks == _start_ticks(os.getpid())  # this process's own workers; else a reused pid
    current = _start_ticks(int(pid_text))
    return current is not None and (ticks in ("?", "") or current == ticks)
