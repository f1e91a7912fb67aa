"""Sales analytics: top products, categories, employees, discounts, payment mix (marts
``top_products_monthly``, ``employee_performance``, ``agg_daily_sales``, ``payment_mix``)."""

from __future__ import annotations

import plotly.graph_objects as go

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


def top_products(marts: MartFrames) -> Chart:
    key, title = "top-products", f"Top {TOP} products by net revenue"
    products = marts["products"]
    if products.empty:
        return Chart.no_data(key, title, "top_products_monthly has no rows")
    totals = (
        products.groupby(["product_id", "product_name", "category"], as_index=False)[
            ["net_revenue", "units"]
        ]
        .sum()
        .nlargest(TOP, "net_revenue")
        .sort_values("net_revenue")
    )
    figure = go.Figure(
        go.Bar(
            x=totals["net_revenue"], y=totals["product_name"], orientation="h",
            customdata=totals[["product_id", "category", "units"]],
            hovertemplate="%{y} (%{customdata[0]}, %{customdata[1]})<br>net revenue "
            "%{x:,.2f}<br>%{customdata[2]:,} units<extra></extra>",
        )
    )  # fmt: skip
    return Chart(key, title, styled(figure), "All months; returned lines count no revenue.")


def categories_per_month(marts: MartFrames) -> Chart:
    key, title = "categories", "Net revenue by category per month"
    products = marts["products"]
    if products.empty:
        return Chart.no_data(key, title, "top_products_monthly has no rows")
    months = products.groupby(["month", "category"], as_index=False)["net_revenue"].sum()
    figure = go.Figure(
        [
            go.Bar(x=group["month"].dt.strftime("%b %Y"), y=group["net_revenue"], name=category)
            for category, group in months.sort_values("month").groupby("category")
        ]
    )
    figure.update_layout(barmode="stack", xaxis_type="category")
    return Chart(key, title, styled(figure), "The latest month may be partial.")


def top_employees(marts: MartFrames) -> Chart:
    key, title = "top-employees", f"Top {TOP} employees by net revenue (in-store orders)"
    employees = marts["employees"]
    if employees.empty:
        return Chart.no_data(key, title, "employee_performance has no rows")
    stores = store_labels(marts["executive"])
    top = employees.nlargest(TOP, "net_revenue").sort_values("net_revenue")
    labels = [
        f"{row.full_name} · {stores.get(row.store_id, row.store_id)}" for row in top.itertuples()
    ]
    figure = go.Figure(
        go.Bar(
            x=top["net_revenue"], y=labels, orientation="h", customdata=top[["orders"]],
            hovertemplate="%{y}<br>net revenue %{x:,.2f}<br>%{customdata[0]:,} orders"
            "<extra></extra>",
        )
    )  # fmt: skip
    return Chart(key, title, styled(figure))


def discounts(marts: MartFrames) -> Chart:
    key, title = "discounts", "Discounts given per 7 days"
    daily = marts["daily_sales"]
    if daily.empty:
        return Chart.no_data(key, title, "agg_daily_sales has no rows")
    frame = by_seven_days(
        daily.assign(sales_net=daily["avg_order_value"].fillna(0) * daily["orders"])
    )
    if frame.empty:
        return Chart.no_data(key, title, "fewer than 7 days of sales")
    weeks = frame.groupby("period", as_index=False)[["gross_revenue", "sales_net"]].sum()
    weeks["discount"] = weeks["gross_revenue"] - weeks["sales_net"]
    weeks["rate"] = weeks["discount"] / weeks["gross_revenue"].where(weeks["gross_revenue"] > 0)
    figure = go.Figure(
        [
            go.Bar(x=weeks["period"], y=weeks["discount"], name="discount amount"),
            go.Scatter(
                x=weeks["period"], y=weeks["rate"], name="share of gross (right)",
                yaxis="y2", mode="lines+markers",
            ),
        ]
    )  # fmt: skip
    styled(figure).update_layout(
        xaxis_title="7 days ending",
        yaxis2={"overlaying": "y", "side": "right", "tickformat": ".1%", "showgrid": False},
    )
    return Chart(
        key, title, figure,
        "Gross minus net amount of sales orders, from agg_daily_sales: gross_revenue − "
        "avg_order_value × orders (AOV is rounded to the cent, so within half a cent an "
        "order). No mart has discounts per product or category.",
    )  # fmt: skip


def payment_mix(marts: MartFrames) -> Chart:
    key, title = "payment-mix", "Payment mix: amount collected by method"
    payments = marts["payments"]
    if payments.empty:
        return Chart.no_data(key, title, "payment_mix has no rows")
    methods = payments.groupby("method", as_index=False)[["amount", "payments"]].sum()
    figure = go.Figure(
        go.Pie(
            labels=methods["method"], values=methods["amount"], hole=0.45, sort=False,
            customdata=methods[["payments"]],
            hovertemplate="%{label}: %{value:,.2f} (%{percent})<br>%{customdata[0]:,} "
            "attempts<extra></extra>",
        )
    )  # fmt: skip
    return Chart(key, title, styled(figure), "Succeeded payments only.")


def payment_failures(marts: MartFrames) -> Chart:
    key, title = "payment-failures", "Payment failure rate by method per 7 days"
    payments = marts["payments"]
    if payments.empty:
        return Chart.no_data(key, title, "payment_mix has no rows")
    frame = by_seven_days(payments.assign(failed=payments["failure_rate"] * payments["payments"]))
    if frame.empty:
        return Chart.no_data(key, title, "fewer than 7 days of payments")
    weeks = frame.groupby(["period", "method"], as_index=False)[["failed", "payments"]].sum()
    weeks["failure_rate"] = weeks["failed"] / weeks["payments"]
    figure = go.Figure(
        [
            go.Scatter(x=group["period"], y=group["failure_rate"], name=method, mode="lines")
            for method, group in weeks.groupby("method")
        ]
    )
    styled(figure, percent_axis="y").update_layout(xaxis_title="7 days ending")
    return Chart(key, title, figure)


def kpis(marts: MartFrames) -> list[Kpi]:
    daily, payments, products = marts["daily_sales"], marts["payments"], marts["products"]
    gross = float(daily["gross_revenue"].sum()) if not daily.empty else 0.0
    sales_net = float((daily["avg_order_value"].fillna(0) * daily["orders"]).sum())
    best = (
        products.groupby("category")["net_revenue"].sum().idxmax() if not products.empty else None
    )
    return [
        Kpi("gross_revenue", "Gross revenue of sales", round(gross, 2) if gross else None,
            "money", "before discounts and returns"),
        Kpi("discount_share", "Discount share", (gross - sales_net) / gross if gross else None,
            "percent", "of gross"),
        Kpi("items_sold", "Items sold",
            float(daily["items_sold"].sum()) if not daily.empty else None, "count"),
        Kpi("top_category", "Top category", best, "text", "by net revenue"),
        Kpi("payment_failure_rate", "Payment failure rate",
            weighted(payments["failure_rate"], payments["payments"]), "percent",
            "failed / attempts"),
    ]  # fmt: skip


def section(marts: MartFrames) -> Section:
    charts = [
        top_products(marts),
        categories_per_month(marts),
        top_employees(marts),
        discounts(marts),
        payment_mix(marts),
        payment_failures(marts),
    ]
    for chart in charts[:1] + charts[2:3]:  # long product and employee names need room
        if chart.figure is not None:
            chart.figure.update_layout(margin={"l": 220}, height=HEIGHT + 40)
    return Section(
        key="sales",
        title="Sales analytics",
        summary="What sells, who sells it, what it costs in discounts and how customers pay.",
        kpis=kpis(marts),
        charts=charts,
    )
