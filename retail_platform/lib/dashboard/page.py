"""One self-contained HTML page: plotly.js inlined once in <head> (the same script
``include_plotlyjs=True`` would inline), every chart a div drawn by it, no network."""

from __future__ import annotations

import html
import math

import plotly.io as pio
from plotly.offline import get_plotlyjs

from retail_platform.lib.dashboard.model import Chart, Kpi, Section

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}

STYLE = """
:root { --ink: #1f2d3d; --muted: #5f6b7a; --line: #e3e7ed; --accent: #3366cc; }
* { box-sizing: border-box; }
body { margin: 0; font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif;
       color: var(--ink); background: #f4f6f9; }
header { background: #1f2d3d; color: white; padding: 14px 28px 0; position: sticky; top: 0;
         z-index: 10; }
header h1 { margin: 0; font-size: 22px; }
header .as-of { display: inline-block; margin-left: 14px; padding: 3px 10px; border-radius: 12px;
                background: #2e9d5b; color: white; font-size: 13px; font-weight: normal;
                vertical-align: middle; }
header .meta { margin: 4px 0 10px; color: #c5cfdb; font-size: 13px; }
nav a { display: inline-block; color: #dfe6ee; text-decoration: none; padding: 8px 14px;
        border-bottom: 3px solid transparent; font-size: 14px; }
nav a:hover { border-bottom-color: #8fb3ff; color: white; }
main { padding: 8px 28px 40px; }
section { margin-top: 22px; scroll-margin-top: 110px; }
section > h2 { margin: 0 0 4px; font-size: 20px; }
section > p.summary { margin: 0 0 12px; color: var(--muted); font-size: 13px; }
.kpis { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr));
        gap: 10px; margin-bottom: 14px; }
.kpi { background: white; border: 1px solid var(--line); border-radius: 8px;
       padding: 10px 14px; }
.kpi .label { display: block; font-size: 12px; color: var(--muted); text-transform: uppercase;
              letter-spacing: .04em; }
.kpi .value { display: block; font-size: 22px; font-weight: bold; margin: 2px 0; }
.kpi .detail { display: block; font-size: 12px; color: var(--muted); }
.charts { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 14px; }
.chart { margin: 0; background: white; border: 1px solid var(--line); border-radius: 8px;
         padding: 10px 12px; min-width: 0; }
.chart.wide { grid-column: 1 / -1; }
.chart h3 { margin: 0 0 4px; font-size: 15px; }
.chart figcaption { font-size: 12px; color: var(--muted); margin-top: 4px; }
.chart.no-data .note { padding: 40px 16px; text-align: center; color: var(--muted);
                       background: #fafbfc; border: 1px dashed var(--line); border-radius: 6px; }
footer { padding: 0 28px 30px; color: var(--muted); font-size: 12px; }
@media (max-width: 1000px) { .charts { grid-template-columns: 1fr; } }
"""


def _kpi(kpi: Kpi) -> str:
    value = kpi.value
    raw = "" if value is None or (isinstance(value, float) and math.isnan(value)) else value
    return (
        f'<div class="kpi" data-kpi="{html.escape(kpi.key)}" '
        f'data-value="{html.escape(str(raw))}">'
        f'<span class="label">{html.escape(kpi.label)}</span>'
        f'<span class="value">{html.escape(kpi.display())}</span>'
        f'<span class="detail">{html.escape(kpi.detail)}</span></div>'
    )


def _chart(chart: Chart) -> str:
    title = f"<h3>{html.escape(chart.title)}</h3>"
    key = html.escape(chart.key)
    wide = " wide" if chart.wide else ""
    if chart.figure is None:
        return (
            f'<figure class="chart no-data{wide}" data-chart="{key}">{title}'
            f'<p class="note">{html.escape(chart.note)}</p></figure>'
        )
    height = chart.figure.layout.height or 340
    div = pio.to_html(
        chart.figure,
        include_plotlyjs=False,
        full_html=False,
        div_id=f"chart-{chart.key}",
        config=PLOTLY_CONFIG,
        default_width="100%",
        default_height=f"{height}px",
    )
    caption = f"<figcaption>{html.escape(chart.note)}</figcaption>" if chart.note else ""
    return f'<figure class="chart{wide}" data-chart="{key}">{title}{div}{caption}</figure>'


def _section(section: Section) -> str:
    kpis = "".join(_kpi(k) for k in section.kpis)
    charts = "".join(_chart(c) for c in section.charts)
    return (
        f'<section id="{html.escape(section.key)}"><h2>{html.escape(section.title)}</h2>'
        f'<p class="summary">{html.escape(section.summary)}</p>'
        f'<div class="kpis">{kpis}</div><div class="charts">{charts}</div></section>'
    )


def render_page(
    sections: list[Section],
    *,
    title: str,
    as_of: str | None,
    as_of_text: str,
    meta: str,
    source: str,
    footer: str,
) -> str:
    """The page; ``as_of`` (YYYY-MM-DD, the latest day with sales) is its one "data as of"
    badge, ``as_of_text`` what the badge says. ``source`` (where the marts were read) is
    kept in the markup for whoever debugs the page, not shown to its readers."""
    nav = "".join(f'<a href="#{html.escape(s.key)}">{html.escape(s.title)}</a>' for s in sections)
    body = "".join(_section(s) for s in sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style>"
        "<script>window.PlotlyConfig = {MathJaxConfig: 'local'};</script>"
        f'<script type="text/javascript">{get_plotlyjs()}</script></head>'
        f"<body><header><h1>{html.escape(title)}"
        f'<span class="as-of" data-as-of="{html.escape(as_of or "")}">'
        f"{html.escape(as_of_text)}</span></h1>"
        f'<p class="meta" data-source="{html.escape(source)}">{html.escape(meta)}</p>'
        f"<nav>{nav}</nav></header>"
        f"<main>{body}</main><footer>{html.escape(footer)}</footer></body></html>\n"
    )
