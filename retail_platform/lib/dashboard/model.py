"""The dashboard's building blocks: headline numbers, charts, sections, and the shared
chart style and time buckets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd
import plotly.graph_objects as go

from retail_platform.lib.dashboard import format as fmt

KpiFormat = Literal["money", "count", "percent", "multiple", "days", "text"]

HEIGHT = 340
RISK_COLORS = {"low": "#2e9d5b", "medium": "#f0a202", "high": "#d1495b"}
PALETTE = ["#3366cc", "#dc7633", "#2e9d5b", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d",
           "#d4ac0d", "#2c3e50", "#e84393"]  # fmt: skip


@dataclass(frozen=True)
class Kpi:
    """A headline number. ``value`` is None when the marts hold nothing to compute it from;
    ``key`` and the raw ``value`` are written into the page (``data-kpi``/``data-value``)."""

    key: str
    label: str
    value: float | str | None
    format: KpiFormat
    detail: str = ""

    def display(self) -> str:
        value = self.value
        if value is None or (isinstance(value, float) and pd.isna(value)):
            return "–"
        if self.format == "money":
            return fmt.money(value)
        if self.format == "count":
            return fmt.count(value)
        if self.format == "percent":
            return fmt.percent(value, signed=self.key.endswith("_change"))
        if self.format == "multiple":
            return fmt.multiple(value)
        if self.format == "days":
            return f"{value:,.1f} days"
        return str(value)


@dataclass(frozen=True)
class Chart:
    """A figure, or (``figure`` None) the reason there is none yet in ``note``."""

    key: str
    title: str
    figure: go.Figure | None
    note: str = ""
    wide: bool = False  # spans the page's two columns

    @staticmethod
    def no_data(key: str, title: str, why: str) -> Chart:
        return Chart(key, title, None, f"No data yet: {why}")


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    summary: str
    kpis: list[Kpi] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)


def styled(figure: go.Figure, *, percent_axis: str | None = None) -> go.Figure:
    """The one look of every chart: white template, legend on top, tight margins."""
    figure.update_layout(
        template="plotly_white",
        height=HEIGHT,
        margin={"l": 60, "r": 30, "t": 30, "b": 50},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        font={"family": "DejaVu Sans, Liberation Sans, Arial, sans-serif", "size": 12},
        hovermode="closest",
        colorway=PALETTE,
    )
    # Counts with thousands separators ("12,000", not plotly's "12k"); a category axis
    # ignores it, a money axis (format.money_axis) replaces it with its own labels.
    figure.update_yaxes(tickformat=",~f")
    if percent_axis == "y":
        figure.update_yaxes(tickformat=".1~%")
    elif percent_axis == "x":
        figure.update_xaxes(tickformat=".1~%")
    return figure


def by_seven_days(frame: pd.DataFrame, column: str = "transaction_date") -> pd.DataFrame:
    """``frame`` with ``period``: the last day of the 7-day period its date falls in,
    periods counted back from the latest date. Rows of an incomplete first period (the
    data starts inside it) are left out, so that every period adds up seven days."""
    dates = frame[column]
    latest, first = dates.max(), dates.min()
    period = latest - pd.to_timedelta((latest - dates).dt.days // 7 * 7, unit="D")
    return frame.assign(period=period)[period - pd.Timedelta(days=6) >= first]


def weighted(values: pd.Series, weights: pd.Series) -> float | None:
    """Σ values × weights / Σ weights (a ratio over groups of different sizes)."""
    total = float(weights.sum())
    if total == 0:
        return None
    return float((values.fillna(0) * weights).sum()) / total
