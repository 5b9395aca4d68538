"""NDJSON streams: a task's progress lines as it runs, then its last line, or the one error line.

Every streaming route (``/api/forecast`` and ``/api/evaluate`` with ``"stream": true``) hands
:func:`ndjson` a coroutine function that takes ``put`` (send one line now) and returns the last line.
A failure after the status line has gone is reported in-stream with :func:`~tollama.api.errors.error_line`;
a client that goes away cancels the task.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from tollama.api.errors import error_line
from tollama.errors import InternalError, TollamaError

Put = Callable[[bytes], None]


async def ndjson(work: Callable[[Put], Awaitable[bytes]]) -> AsyncIterator[bytes]:
    lines: asyncio.Queue[bytes | None] = asyncio.Queue()

    async def run() -> None:
        try:
            lines.put_nowait(await work(lines.put_nowait))
        except TollamaError as exc:
            lines.put_nowait(error_line(exc))
        except Exception as exc:  # noqa: BLE001 - reported in-stream, the status line is gone
            lines.put_nowait(error_line(InternalError(f"internal error: {type(exc).__name__}: {exc}")))
        finally:
            lines.put_nowait(None)

    task = asyncio.get_running_loop().create_task(run())
    try:
        while (line := await lines.get()) is not None:
            yield line
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
