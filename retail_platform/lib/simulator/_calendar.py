"""Retail seasonality: weekday pattern plus the November/December peak."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import numpy as np

# Monday..Sunday, normalised to mean 1: weekends are the busiest days.
_WEEKDAY = np.array([0.88, 0.86, 0.92, 0.97, 1.08, 1.25, 1.04])
_WEEKDAY = _WEEKDAY / _WEEKDAY.mean()


@lru_cache(maxsize=64)
def black_friday(year: int) -> date:
    nov1 = date(year, 11, 1)
    first_thursday = nov1 + timedelta(days=(3 - nov1.weekday()) % 7)
    return first_thursday + timedelta(days=22)


def _holiday(day: date) -> float:
    m, d = day.month, day.day
    bf = black_friday(day.year)
    delta = (day - bf).days
    if delta == 0:
        return 2.2
    if delta in (1, 2):
        return 1.5
    if delta == 3:  # Cyber Monday
        return 1.7
    if m == 11 and day >= date(day.year, 11, 15) and delta < 0:
        return 1.1
    if m == 12:
        if d <= 23:
            return 1.25 + 0.35 * (d - 1) / 22
        return {24: 1.2, 25: 0.25, 26: 1.5}.get(d, 1.15)
    if m == 1:
        return 0.5 if d == 1 else 0.9
    if m == 2:
        return 0.92
    if m == 8 and d >= 15:
        return 1.08
    return 1.0


def season(day: date) -> float:
    """Multiplier on the average daily order count."""
    return float(_WEEKDAY[day.weekday()] * _holiday(day))


def promo(day: date) -> float:
    """How much more often lines are discounted than usual (1 = normal)."""
    delta = (day - black_friday(day.year)).days
    if 0 <= delta <= 3:
        return 3.0
    if day.month == 12 and day.day >= 26:
        return 2.0
    if day.month == 1 and day.day <= 15:
        return 1.5
    return 1.0
