"""Executive summary: revenue, orders, customers and AOV over time, week over week, by
region and store, and net revenue against the sales forecast (marts ``agg_daily_sales``,
``v_executive_summary``, ``agg_customer_segments`` for the distinct-customer count,
``sales_vs_forecast``)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from retail_platform.lib.dashboard import format as fmt
from retail_platform.lib.dashboard.marts import MartFrames
from retail_platform.lib.dashboard.model import (
    HEIGHT,
    PALETTE,
    Chart,
    Kpi,
    Section,
    by_seven_days,
    styled,
)

NO_SALES = "no sales loaded yet"
# The forecast is published once its backtest gate passed (56 days of history at least).
NO_FORECAST = (
    "the forecast appears once eight weeks of sales are loaded and a forecast has proven "
    "better than simply repeating the last week"
)
BAND_COLOR = "rgba(51, 102, 204, 0.18)"


def store_labels(executive: pd.DataFrame) -> dict[str, str]:
    """store_id -> "Store name (store_id)"."""
    stores = executive.drop_duplicates("store_id")
    return {row.store_id: f"{row.store_name} ({row.store_id})" for row in stores.itertuples()}


def daily_totals(daily: pd.DataFrame) -> pd.DataFrame:
    """Per day over all stores; the day's AOV weights each store's by its orders."""
    frame = daily.assign(sales_net=daily["avg_order_value"].fillna(0) * daily["orders"])
    days = frame.groupby("transaction_date", as_index=False)[
        ["orders", "customers", "items_sold", "gross_revenue", "net_revenue", "sales_net"]
    ].sum()
    days["avg_order_value"] = days["sales_net"] / days["orders"].where(days["orders"] > 0)
    return days.sort_values("transaction_date")


def last_two_weeks(frame: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Net revenue of the latest 7 days and of the 7 before, overall or per ``by``.
    ``previous_7`` is NaN unless the data covers all 14 days (a partial week before would
    make any change look huge)."""
    latest, first = frame["transaction_date"].max(), frame["transaction_date"].min()
    age = (latest - frame["transaction_date"]).dt.days
    frame = frame.assign(
        last_7=frame["net_revenue"].where(age < 7, 0.0),
        previous_7=frame["net_revenue"].where((age >= 7) & (age < 14), 0.0),
    )
    if by is None:
        weeks = frame[["last_7", "previous_7"]].sum().to_frame().T
    else:
        weeks = frame.groupby(by, as_index=False)[["last_7", "previous_7"]].sum()
    if (latest - first).days < 13:
        weeks["previous_7"] = float("nan")
    return weeks


def week_over_week(weeks: pd.DataFrame) -> pd.Series:
    """last_7 / previous_7 - 1, NaN where there is nothing to compare with."""
    return weeks["last_7"] / weeks["previous_7"].where(weeks["previous_7"] != 0) - 1


def kpis(marts: MartFrames) -> list[Kpi]:
    daily, segments = marts["daily_sales"], marts["segments"]
    if daily.empty:
        return [
            Kpi("net_revenue", "Net revenue", None, "money"),
            Kpi("orders", "Orders", None, "count"),
            Kpi("customers", "Customers", None, "count"),
            Kpi("avg_order_value", "Average order value", None, "money"),
            Kpi("net_revenue_last_7_days", "Net revenue, last 7 days", None, "money"),
            Kpi("net_revenue_wow_change", "Week over week", None, "percent"),
        ]
    orders = float(daily["orders"].sum())
    sales_net = float((daily["avg_order_value"].fillna(0) * daily["orders"]).sum())
    weeks = last_two_weeks(daily)
    change = week_over_week(weeks).iloc[0]
    weeks = weeks.iloc[0]
    first, latest = daily["transaction_date"].min(), daily["transaction_date"].max()
    span = f"{first.day} {first:%b %Y} to {latest.day} {latest:%b %Y}"
    return [
        Kpi("net_revenue", "Net revenue", round(float(daily["net_revenue"].sum()), 2),
            "money", span),
        Kpi("orders", "Orders", orders, "count", "completed and returned"),
        Kpi("customers", "Customers", float(segments["customers"].sum()), "count",
            "who bought something"),
        Kpi("avg_order_value", "Average order value",
            round(sales_net / orders, 2) if orders else None, "money"),
        Kpi("net_revenue_last_7_days", "Net revenue, last 7 days",
            round(float(weeks["last_7"]), 2), "money"),
        Kpi("net_revenue_wow_change", "Week over week",
            None if pd.isna(change) else float(change),
            "percent", "last 7 days vs the 7 before"),
    ]  # fmt: skip


def revenue_per_day(marts: MartFrames) -> Chart:
    key, title = "revenue-per-day", "Net revenue per day, against the same day last week"
    executive = marts["executive"]
    if executive.empty:
        return Chart.no_data(key, title, NO_SALES)
    days = executive.groupby("transaction_date", as_index=False).agg(
        net_revenue=("net_revenue", "sum"),
        last_week=("net_revenue_same_day_last_week", lambda s: s.sum(min_count=1)),
    )
    figure = go.Figure(
        [
            go.Bar(
                x=days["transaction_date"], y=days["net_revenue"], name="net revenue",
                hovertemplate="%{x|%a %d %b %Y}: $%{y:,.2f}<extra></extra>",
            ),
            go.Scatter(
                x=days["transaction_date"], y=days["last_week"], name="same day last week",
                mode="lines", line={"color": "#444", "dash": "dot"},
                hovertemplate="a week before: $%{y:,.2f}<extra></extra>",
            ),
        ]
    )  # fmt: skip
    fmt.money_axis(styled(figure), [*days["net_revenue"], *days["last_week"].dropna()])
    return Chart(key, title, figure, wide=True)


def orders_customers_aov(marts: MartFrames) -> Chart:
    key, title = "orders-customers-aov", "Orders, customers and average order value per day"
    daily = marts["daily_sales"]
    if daily.empty:
        return Chart.no_data(key, title, NO_SALES)
    days = daily_totals(daily)
    figure = go.Figure(
        [
            go.Scatter(x=days["transaction_date"], y=days["orders"], name="orders"),
            go.Scatter(x=days["transaction_date"], y=days["customers"], name="customers"),
            go.Scatter(
                x=days["transaction_date"], y=days["avg_order_value"],
                name="average order value (right)", yaxis="y2", line={"dash": "dash"},
                hovertemplate="average order $%{y:,.2f}<extra></extra>",
            ),
        ]
    )  # fmt: skip
    fmt.money_axis(styled(figure), days["avg_order_value"].dropna(), axis="yaxis2")
    figure.update_layout(yaxis2={"overlaying": "y", "side": "right", "showgrid": False})
    return Chart(
        key, title, figure,
        "A customer who buys in two stores on the same day counts in each.",
    )  # fmt: skip


def revenue_by_region_per_week(marts: MartFrames) -> Chart:
    key, title = "revenue-by-region", "Net revenue per 7 days by region"
    executive = marts["executive"]
    if executive.empty:
        return Chart.no_data(key, title, NO_SALES)
    latest = executive["transaction_date"].max()
    weeks = (
        by_seven_days(executive).groupby(["period", "region"], as_index=False)["net_revenue"].sum()
    )
    if weeks.empty:
        return Chart.no_data(key, title, "fewer than 7 days of sales")
    figure = go.Figure(
        [
            go.Bar(
                x=group["period"], y=group["net_revenue"], name=region,
                hovertemplate=f"{region}, 7 days to %{{x|%d %b %Y}}: $%{{y:,.2f}}<extra></extra>",
            )
            for region, group in weeks.groupby("region")
        ]
    )  # fmt: skip
    figure.update_layout(barmode="stack", xaxis_title="7 days ending")
    fmt.money_axis(styled(figure), weeks.groupby("period")["net_revenue"].sum())
    return Chart(
        key, title, figure,
        f"Whole weeks only, the last one ending {latest:%d %b %Y}.",
    )  # fmt: skip


def week_over_week_by_region(marts: MartFrames) -> Chart:
    key, title = "wow-by-region", "Week over week by region: last 7 days vs the 7 before"
    executive = marts["executive"]
    if executive.empty:
        return Chart.no_data(key, title, NO_SALES)
    regions = last_two_weeks(executive, by="region")
    regions = regions.assign(change=week_over_week(regions)).dropna(subset=["change"])
    if regions.empty:
        return Chart.no_data(key, title, "fewer than 14 days of sales: nothing to compare with")
    figure = go.Figure(
        go.Bar(
            x=regions["region"], y=regions["change"],
            marker_color=["#2e9d5b" if c >= 0 else "#d1495b" for c in regions["change"]],
            customdata=regions[["last_7", "previous_7"]],
            hovertemplate="%{x}: %{y:+.1%}<br>last 7 days $%{customdata[0]:,.2f}"
            "<br>7 days before $%{customdata[1]:,.2f}<extra></extra>",
        )
    )  # fmt: skip
    return Chart(key, title, styled(figure, percent_axis="y"))


def revenue_by_store(marts: MartFrames) -> Chart:
    key, title = "revenue-by-store", "Net revenue by store"
    executive = marts["executive"]
    if executive.empty:
        return Chart.no_data(key, title, NO_SALES)
    labels = store_labels(executive)
    stores = (
        executive.groupby(["store_id", "region"], as_index=False)["net_revenue"]
        .sum()
        .sort_values("net_revenue")
    )
    total = stores["net_revenue"].sum()
    figure = go.Figure(
        [
            go.Bar(
                y=[labels[s] for s in group["store_id"]], x=group["net_revenue"],
                name=region, orientation="h", textposition="outside", cliponaxis=False,
                text=fmt.share_labels(group["net_revenue"], total),
                hovertemplate="%{y}: $%{x:,.2f} (%{text})<extra></extra>",
            )
            for region, group in stores.groupby("region")
        ]
    )  # fmt: skip
    fmt.money_axis(styled(figure), stores["net_revenue"], axis="xaxis")
    figure.update_layout(
        yaxis={"categoryorder": "total ascending"}, height=max(HEIGHT, 26 * len(stores) + 80),
        margin={"r": 90},
    )  # fmt: skip
    return Chart(key, title, figure, "Labels: the store's share of all net revenue.")


def revenue_vs_forecast(marts: MartFrames) -> Chart:
    """The total's actual net revenue, the forecast and its interval as a band: the 28
    days before the forecast's start (what a forecast made 28 days earlier expected) and
    the 28 days ahead, shaded as forecast only."""
    key, title = "revenue-vs-forecast", "Net revenue vs forecast"
    days = marts["forecast"].sort_values("forecast_date")
    if days.empty or days["forecast"].isna().all():
        return Chart.no_data(key, title, NO_FORECAST)
    dates = days["forecast_date"]
    money = "%{x|%a %d %b %Y}: $%{y:,.2f}"
    figure = go.Figure(
        [
            go.Scatter(  # the band's top edge, drawn first so the bottom can fill up to it
                x=dates, y=days["forecast_upper"], mode="lines", line={"width": 0},
                showlegend=False, hovertemplate=f"likely at most {money}<extra></extra>",
            ),
            go.Scatter(
                x=dates, y=days["forecast_lower"], mode="lines", line={"width": 0},
                fill="tonexty", fillcolor=BAND_COLOR, name="likely range",
                hovertemplate=f"likely at least {money}<extra></extra>",
            ),
            go.Scatter(
                x=dates, y=days["forecast"], name="forecast", mode="lines",
                line={"color": PALETTE[0], "dash": "dash"},
                hovertemplate=f"forecast {money}<extra></extra>",
            ),
            go.Scatter(
                x=dates, y=days["actual_net_revenue"], name="actual", mode="lines+markers",
                line={"color": "#1f2d3d"}, marker={"size": 4},
                hovertemplate=f"actual {money}<extra></extra>",
            ),
        ]
    )  # fmt: skip
    ahead = days[days["forecast_kind"] == "forecast"]
    if not ahead.empty:
        half_day = pd.Timedelta(hours=12)
        figure.add_vrect(
            x0=ahead["forecast_date"].min() - half_day, x1=ahead["forecast_date"].max() + half_day,
            fillcolor="#7f8c8d", opacity=0.08, line_width=0,
            annotation_text="ahead: forecast only", annotation_position="top left",
        )  # fmt: skip
    values = days[["actual_net_revenue", "forecast", "forecast_lower", "forecast_upper"]]
    fmt.money_axis(styled(figure), values.stack().dropna())
    figure.update_layout(hovermode="x unified")
    level = days["interval_level"].dropna()
    share = fmt.percent(level.iloc[0], decimals=0) if not level.empty else "most"
    past = days.loc[days["forecast_kind"] == "backtest", "forecast_date"]
    compared = (
        f"Up to {past.max():%d %b %Y}: what was sold against what a forecast made before "
        "those four weeks expected. "
        if not past.empty
        else ""
    )
    ahead_text = (
        f"From {ahead['forecast_date'].min():%d %b %Y}: no sales yet, only the forecast. "
        if not ahead.empty
        else ""
    )
    return Chart(
        key, title, figure,
        f"All stores together. The shaded band (likely range) is where the forecast expected "
        f"net revenue to fall on {share} of days. {compared}{ahead_text}"
        "The forecast is retrained weekly.",
        wide=True,
    )  # fmt: skip


def section(marts: MartFrames) -> Section:
    return Section(
        key="executive",
        title="Executive summary",
        summary="Sales are completed and returned orders; the money of a returned order is "
        "given back, so it adds no revenue.",
        kpis=kpis(marts),
        charts=[
            revenue_per_day(marts),
            revenue_vs_forecast(marts),
            orders_customers_aov(marts),
            revenue_by_region_per_week(marts),
            week_over_week_by_region(marts),
            revenue_by_store(marts),
        ],
    )
