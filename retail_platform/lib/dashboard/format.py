"""How the dashboard writes numbers: money with its currency and thousands separators
(big figures as ``$3.98 M``), counts, percentages, and axes whose ticks are round numbers.

The simulated shop is American (its names and cities are Faker's ``en_US``), so amounts are
US dollars; the marts carry no currency column, so it is named once, here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

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


def percent_tick(value: float) -> str:
    """An axis label for a 0-1 fraction: ``0%``, ``2.5%``, ``40%``."""
    return f"{value * 100:.4g}%"


def number_tick(value: float) -> str:
    """An axis label for a plain number: ``0``, ``0.25``, ``1,500``."""
    return f"{value:,.4g}" if abs(value) < 10_000 else f"{value:,.0f}"


def round_axis(
    figure: go.Figure,
    values: Iterable[float],
    *,
    axis: str = "yaxis",
    label: Callable[[float], str] = number_tick,
    title: str | None = None,
) -> go.Figure:
    """``axis`` (``yaxis``, ``xaxis``, ``yaxis2`` ...) with round ticks (``nice_ticks``)
    from 0 (or the lowest value, if negative) to just above the highest value, labelled
    by ``label``. ``values`` are what the axis must show (for stacked bars, the stacks'
    totals). Explicit ticks also keep a right-hand axis from taking the left one's
    (unround) positions."""
    values = [float(v) for v in values if not _missing(v)] or [0.0]
    ticks = nice_ticks(max(max(values), 0.0), min(min(values), 0.0))
    settings = {
        "tickmode": "array",
        "tickvals": ticks,
        "ticktext": [label(t) for t in ticks],
        "range": [ticks[0], ticks[-1]],
    }
    if title is not None:
        settings["title"] = title
    figure.update_layout({axis: settings})
    return figure


def money_axis(
    figure: go.Figure, values: Iterable[float], *, axis: str = "yaxis", title: str = ""
) -> go.Figure:
    """A money axis: round ticks labelled ``$500 k``-style (``round_axis``)."""
    return round_axis(figure, values, axis=axis, label=money_tick, title=title)


def percent_axis(
    figure: go.Figure, values: Iterable[float], *, axis: str = "yaxis", title: str | None = None
) -> go.Figure:
    """An axis of 0-1 fractions: round ticks labelled ``25%``-style (``round_axis``)."""
    return round_axis(figure, values, axis=axis, label=percent_tick, title=title)
