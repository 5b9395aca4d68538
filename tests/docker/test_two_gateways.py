"""Two gateways on one engine, sharing one instance label (the hard case: the label alone cannot
tell their containers apart; the ``tollama.owner`` label can). Real ``tollama serve`` processes
(each its own pid, so its own owner), real baseline containers.

Neither's start-up orphan reconciliation nor its shutdown removes the other's worker, and both
keep forecasting through their own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest
from conftest import SERIES, assert_hardened, managed
from serve_port import listening_port

pytestmark = [pytest.mark.docker, pytest.mark.slow]

NAIVE = {"model": "naive", "horizon": 4, "series": SERIES, "options": {"context_length": 48}}


@contextmanager
def serve(home: Path, instance: str) -> Iterator[tuple[httpx.Client, subprocess.Popen[bytes]]]:
    env = {
        **os.environ,
        "TOLLAMA_HOME": str(home),
        "TOLLAMA_HOST": "127.0.0.1",
        "TOLLAMA_PORT": "0",
        "TOLLAMA_RUNTIME": "docker",
        "TOLLAMA_DOCKER_INSTANCE": instance,
        "TOLLAMA_KEEP_ALIVE": "10m",
        "TOLLAMA_WORKER_START_TIMEOUT": "180",
        "TOLLAMA_LOG_LEVEL": "warning",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "tollama", "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{listening_port(proc, timeout=120.0)}", timeout=300) as http:
            yield http, proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # the gateway removes its own workers on the way out
        proc.wait(timeout=90)


def forecast(http: httpx.Client) -> None:
    resp = http.post("/api/forecast", json=NAIVE)
    assert resp.status_code == 200, resp.text
    assert resp.json()["forecasts"][0]["mean"] == pytest.approx([SERIES[0]["target"][-1]] * 4, rel=1e-6)


def owners(engine: docker.DockerClient, instance: str) -> dict[str, Any]:
    return {c.labels["tollama.owner"]: c for c in managed(engine, instance, **{"tollama.family": "baseline"})}


def test_two_gateways_sharing_an_instance_label_keep_each_others_workers(
    tmp_path: Path, engine: docker.DockerClient, instance: str, images: dict[str, str]
) -> None:
    with serve(tmp_path / "a", instance) as (a, proc_a):
        forecast(a)
        (owner_a,) = owners(engine, instance)
        with serve(tmp_path / "b", instance) as (b, proc_b):
            # B's start-up reconciliation saw A's container (same labels but owner) and kept it.
            forecast(b)
            both = owners(engine, instance)
            assert len(both) == 2 and owner_a in both, both
            assert all(c.status == "running" for c in both.values())
            (owner_b,) = set(both) - {owner_a}
            assert owner_a.split("/")[1] == str(proc_a.pid) and owner_b.split("/")[1] == str(proc_b.pid)
            assert_hardened(both[owner_b])
            forecast(a)
            forecast(b)
            kept = both[owner_a].id
            stop(proc_b)
            # B's shutdown removed B's worker only.
            assert list(owners(engine, instance)) == [owner_a]
        assert owners(engine, instance)[owner_a].id == kept
        forecast(a)  # through the same container as before
        assert owners(engine, instance)[owner_a].id == kept
        assert len(a.get("/api/ps").json()["models"]) == 1
    assert managed(engine, instance) == []  # A's shutdown removed its own
