"""Customer insights: RFM segments, churn risk bands, repeat vs one-time revenue (marts
``agg_customer_segments`` and ``customer_health``)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from retail_platform.lib.dashboard.marts import MartFrames
from retail_platform.lib.dashboard.model import RISK_COLORS, Chart, Kpi, Section, styled

#: agg_customer_segments' segments, best first (sql/models/marts/agg_customer_segments.sql)
SEGMENTS = ["Champions", "Loyal", "Potential Loyalists", "New", "Promising", "At Risk",
            "Can't Lose Them", "Hibernating"]  # fmt: skip
BANDS = ["low", "medium", "high"]
NO_SEGMENTS = "agg_customer_segments has no rows (no sales yet)"
NO_SCORES = (
    "customer_health has no churn probabilities until a churn model has met its ROC AUC "
    "floor and scored (run the churn_retrain job once enough sales are loaded)"
)


def _ordered(values: pd.Series, order: list[str]) -> list[str]:
    present = set(values)
    return [v for v in order if v in present] + sorted(present - set(order))


def segments_chart(marts: MartFrames) -> Chart:
    key, title = "rfm-segments", "Customers and net revenue by RFM segment"
    segments = marts["segments"]
    if segments.empty:
        return Chart.no_data(key, title, NO_SEGMENTS)
    per = segments.groupby("segment")[["customers", "monetary"]].sum()
    per = per.reindex(_ordered(segments["segment"], SEGMENTS))
    share = per["monetary"] / per["monetary"].sum() if per["monetary"].sum() else per["monetary"]
    figure = go.Figure(
        go.Bar(
            x=per.index, y=per["customers"], text=[f"{s:.0%}" for s in share],
            textposition="outside", cliponaxis=False, customdata=per[["monetary"]],
            hovertemplate="%{x}: %{y:,} customers<br>net revenue %{customdata[0]:,.2f} "
            "(%{text})<extra></extra>",
        )
    )  # fmt: skip
    styled(figure).update_layout(yaxis_title="customers")
    return Chart(
        key, title, figure,
        "Bars: customers; labels: the segment's share of net revenue. Segments from recency, "
        "frequency and monetary quintiles (NTILE 5).",
    )  # fmt: skip


def recency_frequency(marts: MartFrames) -> Chart:
    key, title = "rfm-grid", "Customers by recency and frequency score"
    segments = marts["segments"]
    if segments.empty:
        return Chart.no_data(key, title, NO_SEGMENTS)
    grid = segments.pivot_table(
        index="f_score", columns="r_score", values="customers", aggfunc="sum", fill_value=0
    ).reindex(index=range(1, 6), columns=range(1, 6), fill_value=0)
    figure = go.Figure(
        go.Heatmap(
            z=grid.values, x=[f"R{r}" for r in grid.columns], y=[f"F{f}" for f in grid.index],
            colorscale="Blues", text=grid.values, texttemplate="%{text:,}",
            hovertemplate="%{x} %{y}: %{z:,} customers<extra></extra>",
        )
    )  # fmt: skip
    return Chart(key, title, styled(figure), "5 = most recent / most frequent.")


def repeat_vs_one_time(marts: MartFrames) -> Chart:
    key, title = "repeat-vs-one-time", "Repeat vs one-time customers"
    segments = marts["segments"]
    if segments.empty:
        return Chart.no_data(key, title, NO_SEGMENTS)
    customers, revenue = segments["customers"].sum(), segments["monetary"].sum()
    one_customers, one_revenue = (
        segments["one_time_customers"].sum(),
        segments["one_time_monetary"].sum(),
    )
    kinds = {
        "repeat (2+ orders)": (customers - one_customers, revenue - one_revenue),
        "one-time": (one_customers, one_revenue),
    }
    figure = go.Figure(
        [
            go.Bar(
                x=["customers", "net revenue"],
                y=[n / customers if customers else 0, r / revenue if revenue else 0],
                name=name, texttemplate="%{y:.0%}", textposition="inside",
                hovertemplate=f"{name}<br>%{{x}}: %{{y:.1%}}<extra></extra>",
            )
            for name, (n, r) in kinds.items()
        ]
    )  # fmt: skip
    styled(figure, percent_axis="y").update_layout(
        barmode="stack", uniformtext={"mode": "hide", "minsize": 10}
    )
    return Chart(key, title, figure, "Shares of customers with a sale and of their net revenue.")


def churn_bands(marts: MartFrames) -> Chart:
    key, title = "churn-bands", "Churn risk bands: customers and lifetime value"
    bands = marts["churn_bands"]
    if bands.empty:
        return Chart.no_data(key, title, NO_SCORES)
    per = bands.groupby("churn_risk_band")[["customers", "lifetime_value"]].sum()
    per = per.reindex(_ordered(bands["churn_risk_band"], BANDS))
    figure = go.Figure(
        go.Bar(
            x=per.index, y=per["customers"],
            marker_color=[RISK_COLORS.get(b, "#7f8c8d") for b in per.index],
            text=[f"LTV {v:,.0f}" for v in per["lifetime_value"]], textposition="outside",
            hovertemplate="%{x} risk: %{y:,} customers<br>%{text}<extra></extra>",
        )
    )  # fmt: skip
    styled(figure).update_layout(yaxis_title="customers")
    return Chart(key, title, figure, "Bands: low < 0.4 ≤ medium < 0.7 ≤ high churn probability.")


def churn_by_segment(marts: MartFrames) -> Chart:
    key, title = "churn-by-segment", "Churn risk by RFM segment"
    bands = marts["churn_bands"]
    if bands.empty:
        return Chart.no_data(key, title, NO_SCORES)
    order = _ordered(bands["segment"], SEGMENTS)
    figure = go.Figure()
    for band in _ordered(bands["churn_risk_band"], BANDS):
        rows = bands[bands["churn_risk_band"] == band].set_index("segment")["customers"]
        figure.add_bar(
            x=order, y=rows.reindex(order, fill_value=0), name=f"{band} risk",
            marker_color=RISK_COLORS.get(band),
        )  # fmt: skip
    styled(figure).update_layout(barmode="stack", yaxis_title="customers")
    return Chart(key, title, figure)


def churn_distribution(marts: MartFrames) -> Chart:
    key, title = "churn-distribution", "Churn probability distribution"
    histogram = marts["churn_histogram"]
    if histogram.empty:
        return Chart.no_data(key, title, NO_SCORES)
    buckets = (
        histogram.assign(bucket=histogram["bucket"].clip(upper=19))
        .groupby("bucket")["customers"]
        .sum()
        .reindex(range(20), fill_value=0)
    )
    lower = [b / 20 for b in buckets.index]
    figure = go.Figure(
        go.Bar(
            x=[b + 0.025 for b in lower], y=buckets.values, width=0.048,
            marker_color=[RISK_COLORS["low" if b < 0.4 else "medium" if b < 0.7 else "high"]
                          for b in lower],
            customdata=[[b, b + 0.05] for b in lower],
            hovertemplate="%{customdata[0]:.2f}–%{customdata[1]:.2f}: %{y:,} customers"
            "<extra></extra>",
        )
    )  # fmt: skip
    styled(figure).update_layout(
        xaxis={"range": [0, 1], "title": "churn probability (no sale in the label window)"},
        yaxis_title="customers",
    )
    return Chart(key, title, figure)


def kpis(marts: MartFrames) -> list[Kpi]:
    segments, bands = marts["segments"], marts["churn_bands"]
    customers = float(segments["customers"].sum()) if not segments.empty else None
    revenue = float(segments["monetary"].sum()) if not segments.empty else 0.0
    repeat = customers - float(segments["one_time_customers"].sum()) if customers else None
    repeat_revenue = revenue - float(segments["one_time_monetary"].sum())
    scored = float(bands["customers"].sum()) if not bands.empty else None
    high = bands[bands["churn_risk_band"] == "high"]
    return [
        Kpi("customers_with_sale", "Customers", customers, "count", "with a sale"),
        Kpi("repeat_customer_share", "Repeat customers",
            repeat / customers if customers and repeat is not None else None,
            "percent", "2+ sales orders"),
        Kpi("repeat_revenue_share", "Revenue from repeat customers",
            repeat_revenue / revenue if revenue else None, "percent"),
        Kpi("high_churn_risk_customers", "High churn risk",
            float(high["customers"].sum()) if scored else None, "count",
            f"of {scored:,.0f} scored" if scored else "not scored yet"),
        Kpi("high_churn_risk_value", "Lifetime value at high risk",
            round(float(high["lifetime_value"].sum()), 2) if scored else None, "money"),
    ]  # fmt: skip


def section(marts: MartFrames) -> Section:
    return Section(
        key="customers",
        title="Customer insights",
        summary="RFM segments as of the latest sales day; churn risk from the newest churn "
        "model that met its ROC AUC floor (marts/customer_health).",
        kpis=kpis(marts),
        charts=[
            segments_chart(marts),
            recency_frequency(marts),
            churn_bands(marts),
            churn_by_segment(marts),
            churn_distribution(marts),
            repeat_vs_one_time(marts),
        ],
    )
