import pytest
from tollama import timeaxis as ta


@pytest.mark.parametrize(
    ("raw", "alias"),
    [("H", "h"), ("h", "h"), ("T", "min"), ("15T", "15min"), ("15min", "15min"), ("S", "s"), ("D", "D"),
     ("M", "ME"), ("ME", "ME"), ("MS", "MS"), ("Q", "QE"), ("QS", "QS"), ("A", "YE"), ("Y", "YE"), ("AS", "YS"),
     ("W", "W-SUN"), ("W-MON", "W-MON"), ("B", "B"), ("2h", "2h")],
)
def test_old_and_new_spellings_normalise(raw: str, alias: str) -> None:
    assert ta.parse_freq(raw).alias == alias


@pytest.mark.parametrize("raw", ["", "fortnight", "0h", "D-MON", "W-XYZ", "1.5h"])
def test_unknown_frequencies_are_refused(raw: str) -> None:
    with pytest.raises(ta.FreqError):
        ta.parse_freq(raw)


@pytest.mark.parametrize(
    ("stamps", "alias", "nxt"),
    [
        (["2024-01-01", "2024-01-02", "2024-01-03"], "D", "2024-01-04"),
        (["2024-01-31", "2024-02-29", "2024-03-31"], "ME", "2024-04-30"),
        (["2024-01-01", "2024-02-01", "2024-03-01"], "MS", "2024-04-01"),
        (["2024-01-01", "2024-04-01", "2024-07-01"], "QS", "2024-10-01"),
        (["2020-12-31", "2021-12-31", "2022-12-31"], "YE", "2023-12-31"),
        (["2024-01-05", "2024-01-08", "2024-01-09"], "B", "2024-01-10"),
        (["2024-01-01T00:00:00", "2024-01-01T00:15:00", "2024-01-01T00:30:00"], "15min", "2024-01-01T00:45:00"),
        (["2024-01-07", "2024-01-14", "2024-01-21"], "W-SUN", "2024-01-28"),
    ],
)
def test_infer_and_extend(stamps: list[str], alias: str, nxt: str) -> None:
    parsed = [ta.parse_timestamp(s) for s in stamps]
    f = ta.infer(parsed)
    assert f.alias == alias
    assert ta.fmt(ta.future(parsed[-1], f, 1)[0], stamps[0]) == nxt


def test_irregular_timestamps_have_no_frequency() -> None:
    with pytest.raises(ta.FreqError):
        ta.infer([ta.parse_timestamp(s) for s in ["2024-01-01", "2024-01-02", "2024-01-05"]])


def test_unparseable_timestamp_names_the_value() -> None:
    with pytest.raises(ta.FreqError, match="yesterday"):
        ta.parse_timestamp("yesterday")
