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
    november_1 = date(year, 11, 1)
    first_thursday = november_1 + timedelta(days=(3 - november_1.weekday()) % 7)
    return first_thursday + timedelta(days=22)


def _holiday(day: date) -> float:
    month, day_of_month = day.month, day.day
    days_after_black_friday = (day - black_friday(day.year)).days
    if days_after_black_friday == 0:
        return 2.2
    if days_after_black_friday in (1, 2):
        return 1.5
    if days_after_black_friday == 3:  # Cyber Monday
        return 1.7
    if month == 11 and day >= date(day.year, 11, 15) and days_after_black_friday < 0:
        return 1.1
    if month == 12:
        if day_of_month <= 23:
            return 1.25 + 0.35 * (day_of_month - 1) / 22
        return {24: 1.2, 25: 0.25, 26: 1.5}.get(day_of_month, 1.15)
    if month == 1:
        return 0.5 if day_of_month == 1 else 0.9
    if month == 2:
        return 0.92
    if month == 8 and day_of_month >= 15:
        return 1.08
    return 1.0


def season(day: date) -> float:
    """Multiplier on the average daily order count."""
    return float(_WEEKDAY[day.weekday()] * _holiday(day))


def promo(day: date) -> float:
    """How much more often lines are discounted than usual (1 = normal)."""
    days_after_black_friday = (day - black_friday(day.year)).days
    if 0 <= days_after_black_friday <= 3:
        return 3.0
    if day.month == 12 and day.day >= 26:
        return 2.0
    if day.month == 1 and day.day <= 15:
        return 1.5
    return 1.0
