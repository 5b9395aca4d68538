import pytest
from tollama.errors import InvalidValue
from tollama.keepalive import parse_keep_alive


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(0, 0.0), (30, 30.0), (1.5, 1.5), ("30", 30.0), ("30s", 30.0), ("5m", 300.0), ("1h30m", 5400.0), ("250ms", 0.25), (-1, None), ("-1", None), ("-1m", None)],
)
def test_keep_alive_values(value: object, seconds: float | None) -> None:
    assert parse_keep_alive(value) == seconds  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["soon", "5 minutes", "m5", True, "inf"])
def test_bad_keep_alive_is_invalid_value(value: object) -> None:
    with pytest.raises(InvalidValue) as info:
        parse_keep_alive(value)  # type: ignore[arg-type]
    assert info.value.details["path"] == "$.keep_alive"
