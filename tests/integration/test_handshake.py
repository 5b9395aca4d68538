"""The Info handshake on every runtime, with real baseline worker processes.

The static runtime gets its first test here: a real worker started on port 0 (it reports the
port it was given, so there is no free-port race), reached at its URL.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, RUNTIMES, family_python
from tollama.errors import RuntimeNotInstalled
from tollama.runtime.handshake import handshake
from tollama.runtime.process import ProcessRuntime
from tollama.runtime.static import StaticRuntime
from tollama.scheduler import Scheduler


@pytest.fixture
def baseline_url() -> Iterator[str]:
    """A real baseline worker on a TCP port the OS picks; its URL from the line it prints."""
    proc = subprocess.Popen(
        [str(family_python("baseline")), "-m", "tollama_kit", "--family", "baseline", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("tollama-worker listening "):
                url = line.split()[-1]
                break
        else:
            raise AssertionError(f"the worker exited with {proc.wait()} before listening")
        assert not url.endswith(":0"), "the worker reports the port the OS gave it"
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


async def _start(runtime: ProcessRuntime | StaticRuntime, family: str) -> None:
    scheduler = Scheduler(runtime)
    try:
        worker = await scheduler._worker(family)
        assert worker.handle.family == family
    finally:
        await scheduler.close()


def test_process_runtime_workers_pass_the_handshake(tmp_path: Path) -> None:
    family_python("baseline")
    runtime = ProcessRuntime(RUNTIMES, tmp_path / "run", variant="cpu", start_timeout=120)
    asyncio.run(_start(runtime, "baseline"))


def test_static_runtime_serves_a_matching_worker(baseline_url: str, tmp_path: Path) -> None:
    asyncio.run(_start(StaticRuntime({"baseline": [baseline_url]}, store_root=tmp_path), "baseline"))


def test_a_worker_of_another_family_is_refused_naming_both(baseline_url: str, tmp_path: Path) -> None:
    with pytest.raises(RuntimeNotInstalled) as info:
        asyncio.run(_start(StaticRuntime({"chronos": [baseline_url]}, store_root=tmp_path), "chronos"))
    assert "'baseline' worker" in info.value.message and "asked for 'chronos'" in info.value.message
    assert (info.value.details["family"], info.value.details["worker_family"]) == ("chronos", "baseline")


def test_a_worker_speaking_another_protocol_version_is_refused_naming_both(
    baseline_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tollama_kit import protocol as wire

    async def check() -> None:
        runtime = StaticRuntime({"baseline": [baseline_url]}, store_root=tmp_path)
        handle = await runtime.start("baseline")
        try:
            monkeypatch.setattr(wire, "PROTOCOL_VERSION", wire.PROTOCOL_VERSION + 1)  # this gateway, one version on
            await handshake(handle, runtime.name)
        finally:
            await runtime.stop(handle)

    with pytest.raises(RuntimeNotInstalled) as info:
        asyncio.run(check())
    assert "speaks worker protocol 1, this gateway speaks 2" in info.value.message
