"""The seasonal period of a frequency, as fev derives it (GluonTS's ``get_seasonality``).

GluonTS maps the frequency's base unit to a period (seconds 3600, minutes 1440, hours 24,
business days 5, months 12, quarters 4; days, weeks and years 1), then divides by the
frequency's multiple; a multiple that does not divide the period gives 1 (``2h`` → 12,
``15min`` → 96, ``5h`` → 1). Start and end spellings (``MS``/``ME``) are the same period.
"""

from __future__ import annotations

from tollama import timeaxis

_BASE = {"s": 3600, "min": 1440, "h": 24, "D": 1, "W": 1, "B": 5, "MS": 12, "ME": 12, "QS": 4, "QE": 4, "YS": 1, "YE": 1}


def seasonality_of(freq: timeaxis.Freq | None) -> int:
    """GluonTS's seasonality of ``freq``; 1 when there is no frequency."""
    if freq is None:
        return 1
    base = _BASE.get(freq.unit, 1)
    period, remainder = divmod(base, freq.n)
    return period if remainder == 0 and period >= 1 else 1
