"""The Info handshake: a started worker must be the family asked for, speaking this protocol.

Every runtime's worker passes it before the scheduler uses it (:func:`handshake`): the gateway
calls the worker's ``GET /v1/info`` and compares its ``family`` and ``protocol_version`` with
what it started and :data:`tollama_kit.protocol.PROTOCOL_VERSION`. A mismatch is a
:class:`~tollama.errors.RuntimeNotInstalled` naming both sides (the fix is to rebuild or
reconfigure that family's runtime).
"""

from __future__ import annotations

from tollama_kit import protocol as wire

from tollama.errors import RuntimeNotInstalled
from tollama.runtime.base import WorkerHandle


async def handshake(handle: WorkerHandle, runtime: str) -> wire.Info:
    """The worker's Info, once its family and protocol version match; else RuntimeNotInstalled."""
    info = await handle.client.info()
    where = f"the {runtime} runtime's worker for family {handle.family!r}"
    if info.family != handle.family:
        raise RuntimeNotInstalled(
            f"{where} is a {info.family!r} worker (asked for {handle.family!r}, got {info.family!r}); check its configuration",
            family=handle.family, worker_family=info.family, runtime=runtime,
        )
    if info.protocol_version != wire.PROTOCOL_VERSION:
        raise RuntimeNotInstalled(
            f"{where} speaks worker protocol {info.protocol_version}, this gateway speaks {wire.PROTOCOL_VERSION}; "
            "rebuild the family's environment or image with this gateway's kit",
            family=handle.family, protocol_version=wire.PROTOCOL_VERSION, worker_protocol_version=info.protocol_version,
            runtime=runtime,
        )
    return info
