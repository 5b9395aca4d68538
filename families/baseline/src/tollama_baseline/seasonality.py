"""Season length from a pandas-style frequency alias.

The table maps each base unit to the length of its natural cycle, in base units:

=========================  ======  =====================
alias (case as pandas)     period  cycle
=========================  ======  =====================
``s`` / ``S``              60      a minute of seconds
``min`` / ``T``            60      an hour of minutes
``h`` / ``H``              24      a day of hours
``bh`` / ``BH``            8       a business day of hours
``D``                      7       a week of days
``B`` / ``C``              5       a business week
``W`` (``W-SUN`` …)        52      a year of weeks
``SM`` / ``SMS``           24      a year of half-months
``M``/``MS``/``ME``/``BM``…  12    a year of months
``Q``/``QS``/``QE``/``BQ``…   4    a year of quarters
``A``/``Y``/``YS``/``YE``…    1    none
``ms``/``us``/``ns``/``L``/``U``/``N``  1  none
=========================  ======  =====================

A multiple divides the period when it can (``15min`` → 4, ``2h`` → 12, ``6h`` → 4);
when it does not (``5h``, ``3D``) there is no whole cycle and the season length is 1.
Anchors (``-SUN``, ``-DEC``) are ignored. The option ``season_length`` overrides all this.
"""

from __future__ import annotations

import re

# Checked case-sensitively first ("M" month vs "ms" millisecond, "S" second vs "MS" month start).
_PERIODS: dict[str, int] = {
    "s": 60, "S": 60, "sec": 60,
    "min": 60, "T": 60,
    "h": 24, "H": 24,
    "bh": 8, "BH": 8, "cbh": 8, "CBH": 8,
    "D": 7, "d": 7,
    "B": 5, "C": 5,
    "W": 52, "w": 52,
    "SM": 24, "SMS": 24, "SME": 24,
    "M": 12, "MS": 12, "ME": 12, "BM": 12, "BMS": 12, "BME": 12, "CBMS": 12, "CBME": 12,
    "Q": 4, "q": 4, "QS": 4, "QE": 4, "BQ": 4, "BQS": 4, "BQE": 4,
    "A": 1, "Y": 1, "a": 1, "y": 1, "AS": 1, "YS": 1, "YE": 1, "BA": 1, "BY": 1, "BAS": 1, "BYS": 1, "BYE": 1,
    "ms": 1, "L": 1, "us": 1, "U": 1, "ns": 1, "N": 1,
}  # fmt: skip

_ALIAS = re.compile(r"^\s*(\d*)\s*([A-Za-z]+)(?:-[A-Za-z]+)?\s*$")


def season_length_for(freq: str | None) -> int | None:
    """The season length for ``freq``; ``None`` when there is no frequency or it is unknown."""
    if not freq:
        return None
    match = _ALIAS.match(freq)
    if match is None:
        return None
    multiple = int(match.group(1) or 1)
    unit = match.group(2)
    period = _PERIODS.get(unit)
    if period is None or multiple < 1:
        return None
    if period % multiple:
        return 1
    return period // multiple
