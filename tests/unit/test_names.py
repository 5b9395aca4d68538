"""Model names: the one gate between user input and store paths."""

from __future__ import annotations

import pytest
from tollama.errors import InvalidModelName
from tollama.names import ModelRef, parse_name


@pytest.mark.parametrize(
    ("raw", "name", "tag"),
    [
        ("chronos-bolt-small", "chronos-bolt-small", "latest"),
        ("Chronos-Bolt-Small:Q8", "chronos-bolt-small", "q8"),
        ("timesfm-2.0:500m", "timesfm-2.0", "500m"),
        ("alice/my_model:v1.2", "alice/my_model", "v1.2"),
        ("library/chronos", "chronos", "latest"),
        ("_private", "_private", "latest"),
    ],
)
def test_valid_names_are_normalised(raw: str, name: str, tag: str) -> None:
    ref = parse_name(raw)
    assert ref == ModelRef(name, tag)
    assert ref.full == f"{name}:{tag}"


def test_namespace_and_model_parts() -> None:
    assert parse_name("alice/m:t").namespace == "alice"
    assert parse_name("alice/m:t").model == "m"
    assert parse_name("m").namespace == "library"
    assert str(parse_name("m")) == "m:latest"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        " ",
        "a b",
        "tab\there",
        "../x",
        "..",
        "a/../b",
        "a..b",
        "/abs",
        "a\\b",
        "a/b/c",
        ".hidden",
        "-flag",
        "a/.b",
        "a/-b",
        "m:",
        "m:.t",
        "m:a:b",
        "a/",
        "/",
        "x\x00y",
        "x\x1by",
        "caf\u00e9",
        "m@sha256",
        "a" * 129,
    ],
)
def test_hostile_names_are_refused(raw: str) -> None:
    with pytest.raises(InvalidModelName) as info:
        parse_name(raw)
    assert info.value.code == "invalid_model_name"
    assert "model name" in info.value.message


def test_refusal_names_the_value_and_the_rule() -> None:
    with pytest.raises(InvalidModelName, match=r"'\.\./x'.*letters, digits"):
        parse_name("../x")


def test_longest_allowed_name() -> None:
    assert parse_name("a" * 128).name == "a" * 128
