"""TOLLAMA_VRAM_BUDGET=auto: nvidia-smi's CSV parsed, the assigned GPUs picked, the share taken.

No GPU here: the nvidia-smi output below is recorded in its documented format
(``--query-gpu=index,uuid,memory.total,memory.free --format=csv,noheader,nounits``, sizes in MiB),
served by a stand-in ``nvidia-smi`` script on PATH so that the real subprocess call is exercised."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
from tollama.memory import VRAM_SHARE, GpuMemory, assigned_gpus, parse_gpu_memory, query_gpu_memory, vram_budget
from tollama.settings import Settings

MIB = 2**20
CSV = (
    "0, GPU-5c1f2f0e-7a3b-4c55-9d1e-0a1b2c3d4e5f, 81559, 80871\n"
    "1, GPU-9e8d7c6b-5a49-4382-a716-151413121110, 81559, 20480\n"
    "2, GPU-00000000-1111-2222-3333-444444444444, [N/A], [N/A]\n"
)


def fake_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output: str, code: int = 0) -> None:
    script = tmp_path / "bin" / "nvidia-smi"
    script.parent.mkdir()
    script.write_text(f"#!/bin/sh\ncat <<'CSV'\n{output}CSV\nexit {code}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{script.parent}{os.pathsep}{os.environ['PATH']}")


def test_parse_skips_gpus_without_figures() -> None:
    gpus = parse_gpu_memory(CSV)
    assert [(g.index, g.total // MIB, g.free // MIB) for g in gpus] == [("0", 81559, 80871), ("1", 81559, 20480)]
    assert gpus[1].uuid == "GPU-9e8d7c6b-5a49-4382-a716-151413121110"
    assert parse_gpu_memory("") == [] and parse_gpu_memory("No devices were found\n") == []


def test_query_runs_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_smi(tmp_path, monkeypatch, CSV)
    assert [g.index for g in query_gpu_memory()] == ["0", "1"]


def test_query_without_a_driver_is_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_smi(
        tmp_path, monkeypatch, "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n", 9
    )
    assert query_gpu_memory() == []

    def missing(*args: object, **kwargs: object) -> subprocess.CompletedProcess[str]:
        raise FileNotFoundError("nvidia-smi")

    assert query_gpu_memory(missing) == []


@pytest.mark.parametrize(
    ("gpus", "family_gpus", "expected"),
    [
        ("", "", ["0", "1"]),  # nothing assigned: a process worker sees every GPU
        ("all", "", ["0", "1"]),
        ("1", "", ["1"]),
        ("", "chronos=0", ["0"]),
        ("1", "timesfm=0", ["0", "1"]),
        ("GPU-9e8d7c6b-5a49-4382-a716-151413121110", "", ["1"]),  # by UUID
        ("7", "", []),  # no such GPU
        ("0", "uni2ts=all", ["0", "1"]),
    ],
)
def test_assigned_gpus(gpus: str, family_gpus: str, expected: list[str]) -> None:
    assignment = Settings(gpus=gpus, family_gpus=family_gpus).gpu_assignment()
    assert [g.index for g in assigned_gpus(parse_gpu_memory(CSV), assignment)] == expected


def test_auto_is_a_share_of_the_free_memory_of_the_assigned_gpus() -> None:
    def query() -> list[GpuMemory]:
        return parse_gpu_memory(CSV)

    both = Settings(variant="cuda").gpu_assignment()
    assert vram_budget("auto", "cuda", both, query) == int((80871 + 20480) * MIB * VRAM_SHARE)
    one = Settings(variant="cuda", gpus="1").gpu_assignment()
    assert vram_budget("auto", "cuda", one, query) == int(20480 * MIB * 0.9)
    assert vram_budget("AUTO", "cpu", both, query) == 0  # the CPU variant: no VRAM to bound
    assert vram_budget("auto", "cuda", both, list) == 0  # no nvidia-smi: no limit
    assert vram_budget("8GiB", "cuda", both, query) == 8 * 2**30  # an explicit size wins
    assert vram_budget("0", "cuda", both, query) == 0
    with pytest.raises(ValueError, match="TOLLAMA_VRAM_BUDGET='lots'"):
        vram_budget("lots", "cuda", both, query)


def test_the_default_is_auto() -> None:
    assert Settings().vram_budget == "auto"
