"""The kit's one conversion of wire options into a family's typed options Struct."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
import pytest
from tollama_kit.errors import BadInput, Unsupported
from tollama_kit.notes import refuse_unusable
from tollama_kit.options import option_names, parse_options


class Example(msgspec.Struct, frozen=True, kw_only=True):
    num_samples: Annotated[int, msgspec.Meta(ge=0)] = 256
    samples_per_batch: Annotated[int, msgspec.Meta(ge=1)] | None = None
    flag: bool | None = None
    covariates_mode: Literal["strict", "best_effort"] = "best_effort"

    def __post_init__(self) -> None:
        if self.samples_per_batch and self.num_samples % self.samples_per_batch:
            raise ValueError(f"'samples_per_batch' ({self.samples_per_batch}) must divide 'num_samples' ({self.num_samples})")


def test_spellings_a_tsmodelfile_or_registry_carries_convert_and_unknown_options_are_ignored() -> None:
    got = parse_options({"num_samples": "20", "flag": "true", "covariates_mode": "strict", "horizon_hint": 3}, Example)
    assert got == Example(num_samples=20, flag=True, covariates_mode="strict")
    assert parse_options({"num_samples": 20.0}, Example).num_samples == 20
    assert parse_options({}, Example) == Example()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"num_samples": -1}, "option 'num_samples': expected `int` >= 0 (value -1)"),
        ({"num_samples": "many"}, "option 'num_samples': expected `int`, got `str` (value 'many')"),
        ({"num_samples": 2.5}, "option 'num_samples'"),
        ({"num_samples": True}, "option 'num_samples'"),
        ({"flag": "maybe"}, "option 'flag'"),
        ({"covariates_mode": "loose"}, "option 'covariates_mode' must be one of ['best_effort', 'strict'], got 'loose'"),
        ({"num_samples": 10, "samples_per_batch": 3}, "options: 'samples_per_batch' (3) must divide 'num_samples' (10)"),
    ],
)
def test_a_wrong_option_is_one_bad_input_naming_it(options: dict, message: str) -> None:
    with pytest.raises(BadInput) as info:
        parse_options(options, Example)
    assert message in str(info.value)


def test_option_names_are_the_struct_fields() -> None:
    assert option_names(Example) == ["num_samples", "samples_per_batch", "flag", "covariates_mode"]


def test_unusable_inputs_that_reach_an_adapter_are_refused_naming_them() -> None:
    refuse_unusable("toto", "Toto", "static covariates", [])  # nothing to refuse
    with pytest.raises(Unsupported, match=r"toto: static covariates \['a', 'b'\] cannot be used by Toto"):
        refuse_unusable("toto", "Toto", "static covariates", ["b", "a"])
