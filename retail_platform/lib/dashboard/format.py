"""How the dashboard writes numbers: money with its currency and thousands separators
(big figures as ``$3.98 M``), counts, percentages, and axes whose ticks are round numbers.

The simulated shop is American (its names and cities are Faker's ``en_US``), so amounts are
US dollars; the marts carry no currency column, so it is named once, here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import plotly.graph_objects as go

CURRENCY = "$"
CURRENCY_NAME = "US dollars"
MINUS = "-"
#: (threshold, divisor, suffix), largest first: figures from a million up are shortened.
_SCALES = ((1e9, 1e9, "B"), (1e6, 1e6, "M"))
_AXIS_SCALES = ((1e9, 1e9, "B"), (1e6, 1e6, "M"), (1e3, 1e3, "k"))
#: round steps, times a power of ten
_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def money(value: float | None) -> str:
    """``$12,345.67`` below a million, ``$3.98 M`` and ``$1.20 B`` above; ``–`` for none."""
    if _missing(value):
        return "–"
    value = float(value)
    sign = MINUS if value < 0 else ""
    size = abs(value)
    for threshold, divisor, suffix in _SCALES:
        # 999,995 rounds to 1,000,000.00: shown as $1.00 M, not $1,000,000.00
        if round(size, 2) >= threshold:
            return f"{sign}{CURRENCY}{size / divisor:,.2f} {suffix}"
    return f"{sign}{CURRENCY}{size:,.2f}"


def count(value: float | None) -> str:
    """``12,345``; ``–`` for none."""
    return "–" if _missing(value) else f"{round(float(value)):,}"


def percent(value: float | None, *, signed: bool = False, decimals: int = 1) -> str:
    """A 0-1 fraction as ``12.3%`` (``+12.3%`` when ``signed``); ``–`` for none."""
    if _missing(value):
        return "–"
    return f"{float(value):{'+' if signed else ''}.{decimals}%}"


def multiple(value: float | None) -> str:
    """A ratio as ``3.2×``; ``–`` for none."""
    return "–" if _missing(value) else f"{float(value):,.1f}×"


def share_labels(values: Iterable[float], total: float | None = None) -> list[str]:
    """Each value as its share of ``total`` (default: their sum), ``12.3% of total``."""
    values = [float(v) for v in values]
    whole = sum(values) if total is None else float(total)
    return [f"{v / whole:.1%} of total" if whole else "" for v in values]


def nice_ticks(high: float, low: float = 0.0, target: int = 5) -> list[float]:
    """About ``target`` round tick values (a step of 1, 2, 2.5 or 5 times a power of ten)
    from the largest multiple of the step at or below ``low`` to the first at or above
    ``high``, so the axis covers the data and every label is a round number."""
    low, high = float(min(low, high)), float(max(low, high))
    if high == low:
        high = low + 1.0
    raw = (high - low) / max(target - 1, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(s * power for s in _STEPS if s * power >= raw * (1 - 1e-9))
    first = math.floor(low / step + 1e-9) * step
    last = math.ceil(high / step - 1e-9) * step
    count_ = round((last - first) / step)
    return [_clean(first + i * step) for i in range(count_ + 1)]


def _clean(value: float) -> float:
    """0.30000000000000004 -> 0.3: tick values as a person would write them."""
    return float(f"{value:.12g}")


def money_tick(value: float) -> str:
    """An axis label: ``$0``, ``$250``, ``$500 k``, ``$1.5 M`` (no trailing zeros)."""
    sign = MINUS if value < 0 else ""
    size = abs(value)
    for threshold, divisor, suffix in _AXIS_SCALES:
        if size >= threshold:
            return f"{sign}{CURRENCY}{size / divisor:,.3g} {suffix}"
    return f"{sign}{CURRENCY}{size:.3g}"


def money_axis(
    figure: go.Figure, values: Iterable[float], *, axis: str = "yaxis", title: str = ""
) -> go.Figure:
    """``axis`` (``yaxis``, ``xaxis``, ``yaxis2`` ...) as a money axis: round ticks from 0
    (or the lowest value, if negative) to just above the highest value, labelled
    ``$500 k``-style. ``values`` are what the axis must show (for stacked bars, the stacks'
    totals)."""
    values = [float(v) for v in values if not _missing(v)] or [0.0]
    ticks = nice_ticks(max(max(values), 0.0), min(min(values), 0.0))
    figure.update_layout(
        {
            axis: {
                "tickmode": "array",
                "tickvals": ticks,
                "ticktext": [money_tick(t) for t in ticks],
                "range": [ticks[0], ticks[-1]],
                "title": title,
            }
        }
    )
    return figure
