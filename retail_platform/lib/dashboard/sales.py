"""Sales analytics: top products, categories, cities, employees, discounts, payment mix
(marts ``top_products_monthly``, ``category_sales``, ``city_sales``, ``employee_performance``,
``discount_analysis``, ``agg_daily_sales``, ``payment_mix``)."""

from __future__ import annotations

import plotly.graph_objects as go

from retail_platform.lib.dashboard import format as fmt
from retail_platform.lib.dashboard.executive import store_labels
from retail_platform.lib.dashboard.marts import MartFrames
from retail_platform.lib.dashboard.model import (
    HEIGHT,
    Chart,
    Kpi,
    Section,
    by_seven_days,
    styled,
    weighted,
)

TOP = 10
NO_SALES = "no sales loaded yet"
NO_PAYMENTS = "no payments loaded yet"


def _top_bars(labels, values, shares, customdata, hover: str) -> go.Figure:
    """Horizontal bars, largest on top, each labelled with its share of the total."""
    return go.Figure(
        go.Bar(
            x=values, y=labels, orientation="h", text=shares, textposition="outside",
            cliponaxis=False, customdata=customdata, hovertemplate=hover,
        )
    )  # fmt: skip


def top_products(marts: MartFrames) -> Chart:
    key, title = "top-products", f"Top {TOP} products by net revenue"
    products = marts["products"]
    if products.empty:
        return Chart.no_data(key, title, NO_SALES)
    totals = products.groupby(["product_id", "product_name", "category"], as_index=False)[
        ["net_revenue", "units"]
    ].sum()
    total = totals["net_revenue"].sum()
    top = totals.nlargest(TOP, "net_revenue").sort_values("net_revenue")
    figure = _top_bars(
        top["product_name"], top["net_revenue"], fmt.share_labels(top["net_revenue"], total),
        top[["product_id", "category", "units"]],
        "%{y} (%{customdata[1]})<br>net revenue $%{x:,.2f} (%{text})<br>%{customdata[2]:,} "
        "units<extra></extra>",
    )  # fmt: skip
    fmt.money_axis(styled(figure), top["net_revenue"], axis="xaxis")
    return Chart(
        key, title, figure, "All months; labels: share of all net revenue. Returned items "
        "count no revenue.",
    )  # fmt: skip


def categories_per_month(marts: MartFrames) -> Chart:
    key, title = "categories", "Net revenue by category per month"
    categories = marts["categories"]
    if categories.empty:
        return Chart.no_data(key, title, NO_SALES)
    months = categories.sort_values("month")
    figure = go.Figure(
        [
            go.Bar(
                x=group["month"].dt.strftime("%b %Y"), y=group["net_revenue"], name=category,
                customdata=group[["revenue_share_of_month", "units"]],
                hovertemplate=f"{category}, %{{x}}<br>$%{{y:,.2f}} (%{{customdata[0]:.1%}} of "
                "the month)<br>%{customdata[1]:,} units<extra></extra>",
            )
            for category, group in months.groupby("category")
        ]
    )  # fmt: skip
    figure.update_layout(barmode="stack", xaxis_type="category")
    fmt.money_axis(styled(figure), months.groupby("month")["net_revenue"].sum())
    latest = months["month"].max()
    return Chart(
        key,
        title,
        figure,
        f"{latest:%B %Y} may not be over yet. Hover a bar for its share of the month.",
    )


def top_cities(marts: MartFrames) -> Chart:
    key, title = "top-cities", f"Top {TOP} cities by net revenue"
    cities = marts["cities"]
    if cities.empty:
        return Chart.no_data(key, title, NO_SALES)
    top = cities.nlargest(TOP, "net_revenue").sort_values("net_revenue")
    figure = _top_bars(
        [f"{c} ({r})" for c, r in zip(top["city"], top["region"], strict=True)],
        top["net_revenue"], fmt.share_labels(top["net_revenue"], cities["net_revenue"].sum()),
        top[["orders", "customers"]],
        "%{y}<br>net revenue $%{x:,.2f} (%{text})<br>%{customdata[0]:,} orders from "
        "%{customdata[1]:,} customers<extra></extra>",
    )  # fmt: skip
    fmt.money_axis(styled(figure), top["net_revenue"], axis="xaxis")
    return Chart(
        key, title, figure,
        f"Where the customers live; labels: share of all net revenue ({len(cities):,} cities "
        "in all).",
    )  # fmt: skip


def top_employees(marts: MartFrames) -> Chart:
    key, title = "top-employees", f"Top {TOP} employees by net revenue (in-store sales)"
    employees = marts["employees"]
    if employees.empty:
        return Chart.no_data(key, title, NO_SALES)
    stores = store_labels(marts["executive"])
    top = employees.nlargest(TOP, "net_revenue").sort_values("net_revenue")
    labels = [
        f"{row.full_name} · {stores.get(row.store_id, row.store_id)}" for row in top.itertuples()
    ]
    figure = _top_bars(
        labels, top["net_revenue"],
        fmt.share_labels(top["net_revenue"], employees["net_revenue"].sum()), top[["orders"]],
        "%{y}<br>net revenue $%{x:,.2f} (%{text})<br>%{customdata[0]:,} orders"
        "<extra></extra>",
    )  # fmt: skip
    fmt.money_axis(styled(figure), top["net_revenue"], axis="xaxis")
    return Chart(key, title, figure, "Labels: share of all in-store net revenue.")


def discount_bands(marts: MartFrames) -> Chart:
    key, title = "discount-bands", "Discount depth: revenue and margin"
    bands = marts["discount_bands"].sort_values("band_order")
    if bands.empty:
        return Chart.no_data(key, title, NO_SALES)
    figure = go.Figure(
        [
            go.Bar(
                x=bands["discount_band"], y=bands["net_revenue"], name="net revenue",
                text=fmt.share_labels(bands["net_revenue"]), textposition="outside",
                cliponaxis=False, customdata=bands[["units", "unit_share", "gross_margin"]],
                hovertemplate="%{x}: $%{y:,.2f} (%{text})<br>%{customdata[0]:,} units "
                "(%{customdata[1]:.1%} of units)<br>margin $%{customdata[2]:,.2f}"
                "<extra></extra>",
            ),
            go.Scatter(
                x=bands["discount_band"], y=bands["margin_rate"], name="margin (right)",
                yaxis="y2", mode="lines+markers", line={"color": "#dc7633"},
                hovertemplate="%{x}: margin %{y:.1%} of revenue<extra></extra>",
            ),
        ]
    )  # fmt: skip
    fmt.money_axis(styled(figure), bands["net_revenue"])
    figure.update_layout(
        xaxis_title="discount on the item",
        yaxis2={"overlaying": "y", "side": "right", "showgrid": False},
    )
    fmt.percent_axis(figure, bands["margin_rate"], axis="yaxis2")
    return Chart(
        key, title, figure,
        "Bars: net revenue by how deep the discount was (labels: share of all net revenue); "
        "line: what is left after the cost of the goods, as a share of revenue.",
    )  # fmt: skip


def discounts(marts: MartFrames) -> Chart:
    key, title = "discounts", "Discounts given per 7 days"
    daily = marts["daily_sales"]
    if daily.empty:
        return Chart.no_data(key, title, NO_SALES)
    frame = by_seven_days(
        daily.assign(sales_net=daily["avg_order_value"].fillna(0) * daily["orders"])
    )
    if frame.empty:
        return Chart.no_data(key, title, "fewer than 7 days of sales so far")
    weeks = frame.groupby("period", as_index=False)[["gross_revenue", "sales_net"]].sum()
    weeks["discount"] = weeks["gross_revenue"] - weeks["sales_net"]
    weeks["rate"] = weeks["discount"] / weeks["gross_revenue"].where(weeks["gross_revenue"] > 0)
    figure = go.Figure(
        [
            go.Bar(
                x=weeks["period"], y=weeks["discount"], name="discounts given",
                hovertemplate="7 days to %{x|%d %b %Y}: $%{y:,.2f}<extra></extra>",
            ),
            go.Scatter(
                x=weeks["period"], y=weeks["rate"], name="share of list price (right)",
                yaxis="y2", mode="lines+markers",
                hovertemplate="%{y:.1%} of list price<extra></extra>",
            ),
        ]
    )  # fmt: skip
    fmt.money_axis(styled(figure), weeks["discount"])
    figure.update_layout(
        xaxis_title="7 days ending",
        yaxis2={"overlaying": "y", "side": "right", "showgrid": False},
    )
    fmt.percent_axis(figure, weeks["rate"], axis="yaxis2")
    return Chart(
        key,
        title,
        figure,
        "What customers saved off the list price on everything they bought, returns included.",
    )


def payment_mix(marts: MartFrames) -> Chart:
    key, title = "payment-mix", "How customers pay: amount collected by method"
    payments = marts["payments"]
    if payments.empty:
        return Chart.no_data(key, title, NO_PAYMENTS)
    methods = payments.groupby("method", as_index=False)[["amount", "payments"]].sum()
    figure = go.Figure(
        go.Pie(
            labels=methods["method"].str.replace("_", " "), values=methods["amount"], hole=0.45,
            sort=False, customdata=methods[["payments"]], texttemplate="%{percent:.1%}",
            hovertemplate="%{label}: $%{value:,.2f} (%{percent} of total)<br>"
            "%{customdata[0]:,} attempts<extra></extra>",
        )
    )  # fmt: skip
    return Chart(key, title, styled(figure), "Successful payments only.")


def payment_failures(marts: MartFrames) -> Chart:
    key, title = "payment-failures", "Failed payments by method per 7 days"
    payments = marts["payments"]
    if payments.empty:
        return Chart.no_data(key, title, NO_PAYMENTS)
    frame = by_seven_days(payments.assign(failed=payments["failure_rate"] * payments["payments"]))
    if frame.empty:
        return Chart.no_data(key, title, "fewer than 7 days of payments so far")
    weeks = frame.groupby(["period", "method"], as_index=False)[["failed", "payments"]].sum()
    weeks["failure_rate"] = weeks["failed"] / weeks["payments"]
    figure = go.Figure(
        [
            go.Scatter(
                x=group["period"], y=group["failure_rate"], name=method.replace("_", " "),
                mode="lines",
            )
            for method, group in weeks.groupby("method")
        ]
    )  # fmt: skip
    styled(figure, percent_axis="y").update_layout(xaxis_title="7 days ending")
    return Chart(key, title, figure, "Share of payment attempts that failed.")


def kpis(marts: MartFrames) -> list[Kpi]:
    daily, payments = marts["daily_sales"], marts["payments"]
    categories, bands = marts["categories"], marts["discount_bands"]
    gross = float(daily["gross_revenue"].sum()) if not daily.empty else 0.0
    sales_net = float((daily["avg_order_value"].fillna(0) * daily["orders"]).sum())
    best = (
        categories.groupby("category")["net_revenue"].sum().idxmax()
        if not categories.empty
        else None
    )
    revenue = float(bands["net_revenue"].sum()) if not bands.empty else 0.0
    return [
        Kpi("gross_revenue", "Sales at list price", round(gross, 2) if gross else None,
            "money", "before discounts and returns"),
        Kpi("discount_share", "Discounts", (gross - sales_net) / gross if gross else None,
            "percent", "of list price"),
        Kpi("gross_margin_rate", "Margin",
            float(bands["gross_margin"].sum()) / revenue if revenue else None, "percent",
            "of net revenue, after the cost of goods"),
        Kpi("items_sold", "Items sold",
            float(daily["items_sold"].sum()) if not daily.empty else None, "count"),
        Kpi("top_category", "Top category", best, "text", "by net revenue"),
        Kpi("payment_failure_rate", "Failed payments",
            weighted(payments["failure_rate"], payments["payments"]), "percent",
            "of payment attempts"),
    ]  # fmt: skip


def section(marts: MartFrames) -> Section:
    charts = [
        top_products(marts),
        categories_per_month(marts),
        top_cities(marts),
        top_employees(marts),
        discount_bands(marts),
        discounts(marts),
        payment_mix(marts),
        payment_failures(marts),
    ]
    for chart in charts:  # long product, city and employee names need room
        if chart.key in {"top-products", "top-cities", "top-employees"} and chart.figure:
            chart.figure.update_layout(margin={"l": 220, "r": 70}, height=HEIGHT + 40)
    return Section(
        key="sales",
        title="Sales analytics",
        summary="What sells, where, who sells it, what discounts cost and how customers pay.",
        kpis=kpis(marts),
        charts=charts,
    )
