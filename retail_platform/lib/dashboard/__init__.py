"""The retail dashboard: the marts rendered as one self-contained HTML file.

``load_marts`` reads the marts through the ``Warehouse`` resource (DuckDB or BigQuery),
``render_dashboard`` builds the four sections (executive summary, sales analytics,
customer insights, inventory & shipping) with plotly, ``write_dashboard`` writes
``index.html``. A mart without rows gives its charts a "No data yet" note instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from retail_platform.lib.dashboard import customers, executive, operations, sales
from retail_platform.lib.dashboard.format import CURRENCY_NAME
from retail_platform.lib.dashboard.marts import MARTS_READ, MartFrames, empty_marts, load_marts
from retail_platform.lib.dashboard.model import Chart, Kpi, Section
from retail_platform.lib.dashboard.page import render_page

__all__ = [
    "MARTS_READ",
    "Dashboard",
    "MartFrames",
    "empty_marts",
    "load_marts",
    "render_dashboard",
    "write_dashboard",
]

TITLE = "Retail dashboard"
FILE_NAME = "index.html"
FOOTER = (
    f"Amounts in {CURRENCY_NAME}. A sale is a completed or returned order; a returned "
    "order's money is given back, so it adds no revenue. Net revenue is what customers paid "
    "after discounts; margin is net revenue minus what the goods cost."
)


@dataclass(frozen=True)
class Dashboard:
    html: str
    sections: list[Section]
    as_of: str | None  # the latest transaction_date with sales, YYYY-MM-DD

    @property
    def charts(self) -> list[Chart]:
        return [chart for section in self.sections for chart in section.charts]

    @property
    def chart_count(self) -> int:
        """Charts drawn (a chart without data is a note, not counted)."""
        return sum(chart.figure is not None for chart in self.charts)

    @property
    def charts_without_data(self) -> list[str]:
        return [chart.key for chart in self.charts if chart.figure is None]

    @property
    def kpis(self) -> dict[str, Kpi]:
        return {kpi.key: kpi for section in self.sections for kpi in section.kpis}


def render_dashboard(marts: MartFrames, *, generated_at: datetime, source: str) -> Dashboard:
    """The four sections from ``marts``; ``source`` names where they were read (kept in
    the page's markup, not shown to its readers)."""
    sections = [
        executive.section(marts),
        sales.section(marts),
        customers.section(marts),
        operations.section(marts),
    ]
    daily = marts["daily_sales"]
    latest = None if daily.empty else daily["transaction_date"].max()
    as_of = None if latest is None else f"{latest:%Y-%m-%d}"
    html = render_page(
        sections,
        title=TITLE,
        as_of=as_of,
        as_of_text="No data yet" if latest is None else f"Data as of {latest.day} {latest:%b %Y}",
        meta=f"Updated {generated_at.day} {generated_at:%b %Y, %H:%M} UTC",
        source=source,
        footer=FOOTER,
    )
    return Dashboard(html=html, sections=sections, as_of=as_of)


def write_dashboard(dashboard: Dashboard, folder: Path) -> Path:
    """``folder/index.html``, replaced atomically (a reader never sees half a file)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILE_NAME
    partial = folder / f".{FILE_NAME}.partial"
    partial.write_text(dashboard.html, encoding="utf-8")
    os.replace(partial, path)
    return path
