"""The process runtime: each family worker is a subprocess of its own virtual environment.

The worker listens on a Unix socket under ``$TOLLAMA_HOME/run`` (no port to allocate,
nothing reachable from the network); its output goes to ``<family>.log`` beside it, whose
tail is attached to start failures and crashes. A CUDA-variant worker whose family has a GPU
set (``TOLLAMA_FAMILY_GPUS``, else ``TOLLAMA_GPUS``) sees only those GPUs
(``CUDA_VISIBLE_DEVICES``), numbered from 0 as in a container.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import tempfile
from pathlib import Path

from tollama.errors import RuntimeNotInstalled, TollamaError, WorkerUnavailable
from tollama.runtime.base import WorkerHandle
from tollama.runtime.environments import env_dir, env_python
from tollama.settings import GpuAssignment
from tollama.worker_client import WorkerClient
from tollama.worker_http import RawClient

_MAX_SOCKET_PATH = 100  # AF_UNIX paths are limited to ~108 bytes


def tail(path: Path, limit: int = 4000) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - limit))
            return fh.read().decode(errors="replace").strip()
    except OSError:
        return ""


class ProcessWorker:
    def __init__(self, family: str, proc: asyncio.subprocess.Process, socket: Path, log: Path, timeout: float = 600.0) -> None:
        self.family = family
        self.proc = proc
        self.socket = socket
        self.log = log
        self.client = WorkerClient(family, RawClient(uds=str(socket), timeout=timeout), self.log_tail)

    def alive(self) -> bool:
        return self.proc.returncode is None

    def log_tail(self) -> str:
        return tail(self.log)


class ProcessRuntime:
    name = "process"

    def __init__(
        self, runtimes_dir: Path, run_dir: Path, *, variant: str = "cpu", start_timeout: float = 120.0,
        request_timeout: float = 600.0, threads: int = 0, gpus: GpuAssignment | None = None,
    ) -> None:
        self.runtimes_dir = runtimes_dir
        self.threads = threads
        self.gpus = gpus or GpuAssignment()
        self.variant = variant
        self.start_timeout = start_timeout
        self.request_timeout = request_timeout
        run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir = run_dir
        # Unix socket paths must be short; fall back to a private temp dir when the home is deep.
        self.socket_dir = run_dir if len(str(run_dir)) < _MAX_SOCKET_PATH - 20 else Path(tempfile.mkdtemp(prefix="tollama-"))
        self._workers: list[ProcessWorker] = []

    def worker_env(self, family: str) -> dict[str, str]:
        """The worker's environment: the gateway's, plus thread limits and the family's GPUs."""
        env = dict(os.environ)
        if self.threads:
            env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(self.threads)
        gpus = self.gpus.for_family(family) if self.variant == "cuda" else None
        if gpus is not None and gpus != "all":  # "all": whatever the gateway itself may see
            env["CUDA_VISIBLE_DEVICES"] = ",".join(gpus)  # empty: no GPU
            env.setdefault("CUDA_DEVICE_ORDER", "PCI_BUS_ID")  # index N = nvidia-smi's GPU N, as in Docker
        return env

    def _env(self, family: str) -> Path:
        return env_dir(self.runtimes_dir, family, self.variant)  # type: ignore[arg-type]

    async def open(self) -> None:
        return None

    def check(self, family: str) -> None:
        if not env_python(self._env(family)).exists():
            raise RuntimeNotInstalled(
                f"the {family} runtime is not installed; run `tollama runtime install {family}`",
                family=family, runtime=self.name, runtimes_dir=str(self.runtimes_dir), variant=self.variant,
            )

    def worker_path(self, snapshot: Path) -> str:
        return str(snapshot)

    async def start(self, family: str) -> ProcessWorker:
        self.check(family)
        socket = self.socket_dir / f"{family}.sock"
        log = self.log_dir / f"{family}.log"
        with contextlib.suppress(FileNotFoundError):
            socket.unlink()
        with log.open("wb") as out:
            proc = await asyncio.create_subprocess_exec(
                str(env_python(self._env(family))), "-m", "tollama_kit", "--family", family, "--uds", str(socket),
                stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True, env=self.worker_env(family),
            )
        worker = ProcessWorker(family, proc, socket, log, self.request_timeout)
        self._workers.append(worker)
        try:
            await self._wait_healthy(worker)
        except BaseException:
            await self.stop(worker)
            raise
        return worker

    async def _wait_healthy(self, worker: ProcessWorker) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.start_timeout
        delay = 0.02
        while True:
            if not worker.alive():
                raise WorkerUnavailable(
                    f"the {worker.family} worker exited with status {worker.proc.returncode} while starting",
                    family=worker.family, log_tail=worker.log_tail() or None,
                )
            if worker.socket.exists():
                with contextlib.suppress(TollamaError):
                    await worker.client.health(timeout=2.0)
                    return
            if loop.time() > deadline:
                raise WorkerUnavailable(
                    f"the {worker.family} worker did not become healthy within {self.start_timeout:.0f}s",
                    family=worker.family, log_tail=worker.log_tail() or None,
                )
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 0.25)

    async def stop(self, handle: WorkerHandle) -> None:
        assert isinstance(handle, ProcessWorker)
        if handle in self._workers:
            self._workers.remove(handle)
        await handle.client.aclose()
        if handle.alive():
            with contextlib.suppress(ProcessLookupError):
                handle.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(handle.proc.wait(), timeout=10)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    handle.proc.kill()
                await handle.proc.wait()
        with contextlib.suppress(FileNotFoundError):
            handle.socket.unlink()

    async def close(self) -> None:
        for worker in list(self._workers):
            await self.stop(worker)
