"""Settings: TOLLAMA_GPUS and TOLLAMA_FAMILY_GPUS are parsed strictly when the settings are made,
and TOLLAMA_FAMILY_GPUS family names are checked against the registry when the runtime is made."""

from __future__ import annotations

from pathlib import Path

import pytest
from tollama.registry import Registry
from tollama.runtime.process import ProcessRuntime
from tollama.runtime.select import make_runtime
from tollama.settings import GpuAssignment, Settings, describe, parse_family_gpus, parse_gpus

FAMILIES = ("chronos", "timesfm", "uni2ts")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ()),
        ("  ", ()),
        ("all", "all"),
        (" all ", "all"),
        ("1", ("1",)),
        ("0, 2", ("0", "2")),
        ("3,1", ("3", "1")),  # kept in the order given
        ("0:1", ("0:1",)),  # a MIG instance by index
        ("GPU-8f6c3a1e-5a2b-4c3d-9e8f-0123456789ab", ("GPU-8f6c3a1e-5a2b-4c3d-9e8f-0123456789ab",)),
        ("MIG-GPU-8f6c3a1e-5a2b-4c3d-9e8f-0123456789ab/1/0", ("MIG-GPU-8f6c3a1e-5a2b-4c3d-9e8f-0123456789ab/1/0",)),
    ],
)
def test_gpu_ids(raw: str, expected: object) -> None:
    assert parse_gpus(raw) == expected


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ("cuda:1", r"TOLLAMA_GPUS='cuda:1': 'cuda:1' is not a GPU id"),  # the device parameter's syntax, not a host id
        ("0;1", r"'0;1' is not a GPU id"),
        ("1,,2", r"'' is not a GPU id"),
        ("0,", r"'' is not a GPU id"),
        ("all,0", r"'all' cannot be combined"),
        ("ALL", r"'ALL' is not a GPU id"),
        ("1,1", r"1 listed twice"),
        ("gpu0", r"'gpu0' is not a GPU id"),
    ],
)
def test_bad_gpu_ids(raw: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        parse_gpus(raw)


def test_family_gpus() -> None:
    parsed = parse_family_gpus(" timesfm=1 ; chronos=0,2;uni2ts=all;", FAMILIES)
    assert parsed == {"timesfm": ("1",), "chronos": ("0", "2"), "uni2ts": "all"}
    assert parse_family_gpus("timesfm=", FAMILIES) == {"timesfm": ()}  # listed with no ids: no GPU
    assert parse_family_gpus("", FAMILIES) == {}


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ("timesfm", r"entry 'timesfm' is not family=ids"),
        ("timesfm:1", r"entry 'timesfm:1' is not family=ids"),
        ("=1", r"entry '=1' is not family=ids"),
        ("timesfm=1,chronos=2", r"entry 'timesfm=1,chronos=2': 'chronos=2' is not a GPU id"),
        ("timesfm=cuda:0", r"entry 'timesfm=cuda:0': 'cuda:0' is not a GPU id"),
        ("timesfm=1;timesfm=2", r"family 'timesfm' is listed twice"),
        ("timesfm=1;moirai=0", r"entry 'moirai=0': unknown family 'moirai' \(known: chronos, timesfm, uni2ts\)"),
        ("Chronos=0", r"unknown family 'Chronos'"),
    ],
)
def test_bad_family_gpus_name_the_setting_and_the_entry(raw: str, match: str) -> None:
    with pytest.raises(ValueError, match=r"^TOLLAMA_FAMILY_GPUS: ") as info:
        parse_family_gpus(raw, FAMILIES)
    assert info.match(match)


def test_malformed_gpu_settings_fail_when_read_from_the_environment() -> None:
    with pytest.raises(ValueError, match=r"TOLLAMA_FAMILY_GPUS: entry 'chronos=0,x'"):
        Settings.from_env({"TOLLAMA_FAMILY_GPUS": "timesfm=1;chronos=0,x"})
    with pytest.raises(ValueError, match=r"TOLLAMA_GPUS='0 1'"):
        Settings.from_env({"TOLLAMA_GPUS": "0 1"})
    settings = Settings.from_env({"TOLLAMA_GPUS": "0,1", "TOLLAMA_FAMILY_GPUS": "timesfm=2"})
    assert settings.gpu_assignment() == GpuAssignment(default=("0", "1"), families={"timesfm": ("2",)})
    rows = {env: (value, default) for env, value, default, _ in describe(settings)}
    assert rows["TOLLAMA_FAMILY_GPUS"] == ("timesfm=2", "")


def test_a_family_uses_its_own_set_else_tollama_gpus() -> None:
    gpus = Settings(gpus="all", family_gpus="timesfm=1;chronos=").gpu_assignment()
    assert gpus.for_family("timesfm") == ("1",)
    assert gpus.for_family("chronos") == ()  # listed empty: none, even though TOLLAMA_GPUS is all
    assert gpus.for_family("uni2ts") == "all"
    assert Settings(family_gpus="timesfm=1").gpu_assignment().for_family("uni2ts") is None  # neither set


def test_unknown_family_fails_when_the_runtime_is_made(tmp_path: Path) -> None:
    known = Registry.load(Settings().registry_file).families()
    assert "timesfm" in known and "nosuchfamily" not in known
    bad = Settings(home=tmp_path, runtime="process", family_gpus="timesfm=1;nosuchfamily=0")
    with pytest.raises(ValueError, match=r"TOLLAMA_FAMILY_GPUS: entry 'nosuchfamily=0': unknown family"):
        make_runtime(bad)
    runtime = make_runtime(Settings(home=tmp_path, runtime="process", variant="cuda", gpus="0", family_gpus="timesfm=1"))
    assert isinstance(runtime, ProcessRuntime)
    assert runtime.gpus == GpuAssignment(default=("0",), families={"timesfm": ("1",)})
