"""The public retail calendar as model features: weekday and the named shopping days.

What every retailer knows in advance about a date (the analogue of ARIMA_PLUS's
``holiday_region``): which weekday it is, and whether it is Black Friday, its weekend,
Cyber Monday, Christmas Eve, Christmas Day, Boxing Day, New Year's Eve or New Year's Day.
The model learns how much each matters from the history; nothing here says by how much
(a holiday the history never saw gets no effect).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, timedelta

import numpy as np
import pandas as pd

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def black_friday(year: int) -> date:
    """The day after the fourth Thursday of November (US Thanksgiving)."""
    first = date(year, 11, 1)
    first_thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    return first_thursday + timedelta(days=22)


def _days_from_black_friday(day: date) -> int:
    return (day - black_friday(day.year)).days


HOLIDAYS: dict[str, Callable[[date], bool]] = {
    "black_friday": lambda d: _days_from_black_friday(d) == 0,
    "black_friday_weekend": lambda d: _days_from_black_friday(d) in (1, 2),
    "cyber_monday": lambda d: _days_from_black_friday(d) == 3,
    "christmas_eve": lambda d: (d.month, d.day) == (12, 24),
    "christmas_day": lambda d: (d.month, d.day) == (12, 25),
    "boxing_day": lambda d: (d.month, d.day) == (12, 26),
    "new_years_eve": lambda d: (d.month, d.day) == (12, 31),
    "new_years_day": lambda d: (d.month, d.day) == (1, 1),
}

FEATURES = (*(f"weekday_{name}" for name in WEEKDAYS), *HOLIDAYS)

#: The holiday shopping season, as the US National Retail Federation counts it: November
#: and December. The model forecasts a day outside it from the level of the days outside it.
HOLIDAY_SEASON_MONTHS = (11, 12)


def in_holiday_season(days: Iterable[date]) -> np.ndarray:
    """Per day: whether it falls in the holiday shopping season."""
    return np.array([day.month in HOLIDAY_SEASON_MONTHS for day in days], dtype=bool)


def calendar_features(days: Iterable[date]) -> pd.DataFrame:
    """One row per day: a weekday indicator (one of seven is 1) and a 0/1 column per
    named shopping day, in the order of :data:`FEATURES`."""
    days = list(days)
    columns = {
        f"weekday_{name}": [float(d.weekday() == i) for d in days]
        for i, name in enumerate(WEEKDAYS)
    }
    columns |= {name: [float(bool(is_day(d))) for d in days] for name, is_day in HOLIDAYS.items()}
    return pd.DataFrame(columns, index=pd.Index(days, name="day"), dtype=np.float64)
