"""Customer insights: value tiers, top customers, repeat vs one-time buyers, age and
gender, the products recommended most, RFM segments and churn risk (marts
``customer_value_tiers``, ``top_customers``, ``repeat_customer_revenue``,
``customer_demographics``, ``recommended_products``, ``agg_customer_segments`` and
``customer_health``)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from retail_platform.lib.dashboard import format as fmt
from retail_platform.lib.dashboard.marts import MartFrames
from retail_platform.lib.dashboard.model import RISK_COLORS, Chart, Kpi, Section, styled
from retail_platform.lib.recommend.evaluation import HOLDOUT_DAYS, MIN_TRAINING_DAYS
from retail_platform.lib.recommend.feedback import RECENT_DAYS

#: agg_customer_segments' segments, best first (sql/models/marts/agg_customer_segments.sql)
SEGMENTS = ["Champions", "Loyal", "Potential Loyalists", "New", "Promising", "At Risk",
            "Can't Lose Them", "Hibernating"]  # fmt: skip
BANDS = ["low", "medium", "high"]
#: customer_demographics' age bands, youngest first (sql/macros/demographics.sql)
AGE_BANDS = ["under_18", "18-24", "25-34", "35-44", "45-54", "55-64", "65+", "unknown"]
GENDER_COLORS = {"female": "#c0392b", "male": "#3366cc", "other": "#8e44ad", "unknown": "#95a5a6"}
TIER_COLORS = {"High": "#2e9d5b", "Medium": "#3366cc", "Low": "#7f8c8d"}
BUYER_LABELS = {
    "repeat": "repeat (2+ completed orders)",
    "one_time": "one-time (1 completed order)",
    "returns_only": "returned everything",
}
NO_SALES = "no customer has bought anything yet"
NO_RECOMMENDATIONS = (
    f"recommendations appear once the recommender has learned from "
    f"{(MIN_TRAINING_DAYS + HOLDOUT_DAYS) // 7} weeks of sales and beaten the best-seller list"
)
NO_SCORES = (
    "churn risk appears once the churn model has been trained on enough sales and has "
    "scored the customers"
)


def _ordered(values: pd.Series, order: list[str]) -> list[str]:
    present = set(values)
    return [v for v in order if v in present] + sorted(present - set(order))


def value_tiers(marts: MartFrames) -> Chart:
    key, title = "value-tiers", "Customer value tiers: share of customers and of revenue"
    tiers = marts["value_tiers"].sort_values("tier_order")
    if tiers.empty:
        return Chart.no_data(key, title, NO_SALES)
    figure = go.Figure(
        [
            go.Bar(
                x=tiers["value_tier"], y=tiers[column], name=name,
                text=[fmt.percent(v) for v in tiers[column]], textposition="outside",
                cliponaxis=False, customdata=tiers[["customers", "net_revenue"]],
                hovertemplate=f"%{{x}} value: %{{y:.1%}} of {name}<br>%{{customdata[0]:,}} "
                "customers, $%{customdata[1]:,.2f}<extra></extra>",
            )
            for column, name in (("customer_share", "customers"), ("revenue_share", "revenue"))
        ]
    )  # fmt: skip
    styled(figure, percent_axis="y").update_layout(barmode="group", yaxis={"range": [0, 1]})
    high = tiers[tiers["value_tier"] == "High"]
    lead = (
        f"The top {fmt.percent(high['customer_share'].iloc[0], decimals=0)} of customers "
        f"bring {fmt.percent(high['revenue_share'].iloc[0], decimals=0)} of the revenue. "
        if not high.empty
        else ""
    )
    return Chart(
        key, title, figure,
        lead + "High: the 20% who spent the most; Medium: the next 30%; Low: the rest and "
        "customers whose purchases were all returned.",
    )  # fmt: skip


def top_customers(marts: MartFrames) -> Chart:
    key, title = "top-customers", "Top 10 customers by net revenue"
    top = marts["top_customers"].sort_values("revenue_rank")
    if top.empty:
        return Chart.no_data(key, title, NO_SALES)
    figure = go.Figure(
        go.Table(
            columnwidth=[0.6, 1.6, 2.6, 1, 1, 1.6, 1.3],
            header={"values": ["#", "customer", "city", "loyalty", "orders", "net revenue",
                               "% of total"],
                    "fill_color": "#2c3e50", "font": {"color": "white"}, "align": "left"},
            cells={"values": [
                top["revenue_rank"].map("{:.0f}".format),
                top["customer_id"],
                [f"{city} ({region})" for city, region in zip(top["city"], top["region"],
                                                              strict=True)],
                top["loyalty_tier"],
                top["orders"].map(fmt.count),
                top["net_revenue"].map(fmt.money),
                top["revenue_share"].map(lambda v: fmt.percent(v, decimals=2)),
            ], "align": "left", "height": 24},
        )
    )  # fmt: skip
    styled(figure).update_layout(
        margin={"l": 10, "r": 10, "t": 10, "b": 10}, height=25 * (len(top) + 1) + 40
    )
    return Chart(
        key, title, figure,
        "Net revenue of everything they bought; returned orders count nothing. Orders include "
        "returned ones.",
        wide=True,
    )  # fmt: skip


def repeat_vs_one_time(marts: MartFrames) -> Chart:
    key, title = "repeat-vs-one-time", "Repeat vs one-time customers"
    types = marts["buyer_types"].sort_values("type_order")
    if types.empty:
        return Chart.no_data(key, title, NO_SALES)
    figure = go.Figure(
        [
            go.Bar(
                x=["customers", "net revenue"], y=[row.customer_share, row.revenue_share],
                name=BUYER_LABELS.get(row.buyer_type, row.buyer_type),
                texttemplate="%{y:.0%}", textposition="inside",
                hovertemplate=f"{BUYER_LABELS.get(row.buyer_type, row.buyer_type)}<br>"
                "%{x}: %{y:.1%} of total<extra></extra>",
            )
            for row in types.itertuples()
        ]
    )  # fmt: skip
    styled(figure, percent_axis="y").update_layout(
        barmode="stack", uniformtext={"mode": "hide", "minsize": 10}, yaxis={"range": [0, 1]}
    )
    ratio = types.set_index("buyer_type")["avg_revenue_vs_one_time"].get("repeat")
    lead = (
        f"On average a repeat customer brings {fmt.multiple(ratio)} the revenue of a "
        "one-time buyer. "
        if ratio is not None and not pd.isna(ratio)
        else ""
    )
    return Chart(key, title, figure, lead + "Shares of all customers who bought something.")


def age_and_gender(marts: MartFrames) -> Chart:
    key, title = "age-and-gender", "Customers by age band and gender"
    groups = marts["demographics"]
    if groups.empty or groups["customer_base"].sum() == 0:
        return Chart.no_data(key, title, NO_SALES)
    bands = _ordered(groups["age_band"], AGE_BANDS)
    revenue = groups.groupby("age_band")["net_revenue"].sum().reindex(bands, fill_value=0)
    figure = go.Figure()
    for gender in _ordered(groups["gender"], list(GENDER_COLORS)):
        rows = groups[groups["gender"] == gender].set_index("age_band")["customer_base"]
        figure.add_bar(
            x=bands, y=rows.reindex(bands, fill_value=0), name=gender,
            marker_color=GENDER_COLORS.get(gender, "#7f8c8d"),
            hovertemplate=f"%{{x}}, {gender}: %{{y:,}} customers<extra></extra>",
        )  # fmt: skip
    # The band's share of revenue above its bar: which ages bring the money.
    totals = groups.groupby("age_band")["customer_base"].sum().reindex(bands, fill_value=0)
    shares = revenue / revenue.sum() if revenue.sum() else revenue * 0
    figure.add_scatter(
        x=bands, y=totals, mode="text", text=[fmt.percent(v) for v in shares],
        textposition="top center", showlegend=False, hoverinfo="skip",
    )  # fmt: skip
    styled(figure).update_layout(
        barmode="stack", yaxis_title="customers", legend={"traceorder": "normal"}
    )
    return Chart(
        key, title, figure,
        "Bars: customers, by the gender they gave; labels: the band's share of all net "
        "revenue (% of total). Age on the day the customer's record last changed; unknown: "
        "not given.",
    )  # fmt: skip


def recommended_products(marts: MartFrames) -> Chart:
    key, title = "recommended-products", "Products recommended to the most customers"
    products = marts["recommended"]
    if products.empty:
        return Chart.no_data(key, title, NO_RECOMMENDATIONS)
    top = products.sort_values(["customers_top_3", "product_id"], ascending=[False, True]).head(10)
    top = top.iloc[::-1]  # the most recommended at the top of a horizontal bar chart
    figure = go.Figure(
        go.Bar(
            x=top["customers_top_3"], y=[f"{n} ({c})" for n, c in zip(top["product_name"],
                                                                     top["category"], strict=True)],
            orientation="h",
            text=[fmt.percent(v) for v in top["share_of_customers_top_3"]],
            textposition="outside", cliponaxis=False,
            hovertemplate="%{y}: in the top 3 of %{x:,} customers (%{text})<extra></extra>",
        )
    )  # fmt: skip
    styled(figure).update_layout(xaxis_title="customers", margin={"l": 260})
    return Chart(
        key, title, figure,
        "How many customers have the product among their 3 best suggestions; labels: the "
        "share of all customers suggested to. Suggestions come from what customers who buy "
        f"alike bought, and leave out what the customer bought in the last {RECENT_DAYS} days.",
        wide=True,
    )  # fmt: skip


def segments_chart(marts: MartFrames) -> Chart:
    key, title = "rfm-segments", "Customers and net revenue by segment"
    segments = marts["segments"]
    if segments.empty:
        return Chart.no_data(key, title, NO_SALES)
    per = segments.groupby("segment")[["customers", "monetary"]].sum()
    per = per.reindex(_ordered(segments["segment"], SEGMENTS))
    figure = go.Figure(
        go.Bar(
            x=per.index, y=per["customers"], text=fmt.share_labels(per["monetary"]),
            textposition="outside", cliponaxis=False, customdata=per[["monetary"]],
            hovertemplate="%{x}: %{y:,} customers<br>net revenue $%{customdata[0]:,.2f} "
            "(%{text})<extra></extra>",
        )
    )  # fmt: skip
    styled(figure).update_layout(yaxis_title="customers")
    return Chart(
        key, title, figure,
        "Bars: customers; labels: the segment's share of all net revenue. Segments group "
        "customers by how recently, how often and how much they bought.",
    )  # fmt: skip


def recency_frequency(marts: MartFrames) -> Chart:
    key, title = "rfm-grid", "Customers by how recently and how often they buy"
    segments = marts["segments"]
    if segments.empty:
        return Chart.no_data(key, title, NO_SALES)
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
    return Chart(
        key,
        title,
        styled(figure),
        "R5: the customers who bought most recently; F5: those who buy most often.",
    )


def churn_bands(marts: MartFrames) -> Chart:
    key, title = "churn-bands", "Churn risk: customers and what they have spent"
    bands = marts["churn_bands"]
    if bands.empty:
        return Chart.no_data(key, title, NO_SCORES)
    per = bands.groupby("churn_risk_band")[["customers", "lifetime_value"]].sum()
    per = per.reindex(_ordered(bands["churn_risk_band"], BANDS))
    shares = fmt.share_labels(per["lifetime_value"])
    figure = go.Figure(
        go.Bar(
            x=per.index, y=per["customers"],
            marker_color=[RISK_COLORS.get(b, "#7f8c8d") for b in per.index],
            text=[f"{fmt.money(v)} ({s})" for v, s in zip(per["lifetime_value"], shares,
                                                         strict=True)],
            textposition="outside", cliponaxis=False,
            hovertemplate="%{x} risk: %{y:,} customers<br>spent %{text}<extra></extra>",
        )
    )  # fmt: skip
    styled(figure).update_layout(yaxis_title="customers")
    return Chart(
        key, title, figure,
        "Labels: what the band's customers have spent so far. High risk: a 70% or higher "
        "chance of not buying again soon; low: under 40%.",
    )  # fmt: skip


def churn_by_segment(marts: MartFrames) -> Chart:
    key, title = "churn-by-segment", "Churn risk by segment"
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
    key, title = "churn-distribution", "How likely customers are to stop buying"
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
            hovertemplate="%{customdata[0]:.0%}–%{customdata[1]:.0%}: %{y:,} customers"
            "<extra></extra>",
        )
    )  # fmt: skip
    styled(figure).update_layout(
        xaxis={"range": [0, 1], "title": "chance of not buying again soon",
               "tickformat": ".0%", "dtick": 0.1},
        yaxis_title="customers",
    )  # fmt: skip
    return Chart(key, title, figure)


def kpis(marts: MartFrames) -> list[Kpi]:
    segments, bands = marts["segments"], marts["churn_bands"]
    types = marts["buyer_types"].set_index("buyer_type") if not marts["buyer_types"].empty else None
    tiers = marts["value_tiers"].set_index("value_tier")
    customers = float(segments["customers"].sum()) if not segments.empty else None
    scored = float(bands["customers"].sum()) if not bands.empty else None
    high = bands[bands["churn_risk_band"] == "high"]

    def of_type(column: str, buyer_type: str = "repeat") -> float | None:
        if types is None or buyer_type not in types.index:
            return None
        return float(types.loc[buyer_type, column])

    return [
        Kpi("customers_with_sale", "Customers", customers, "count", "who bought something"),
        Kpi("repeat_customer_share", "Repeat customers", of_type("customer_share"), "percent",
            "2 or more completed orders"),
        Kpi("repeat_revenue_share", "Revenue from repeat customers",
            of_type("revenue_share"), "percent", "of all net revenue"),
        Kpi("repeat_revenue_multiple", "Repeat vs one-time", of_type("avg_revenue_vs_one_time"),
            "multiple", "revenue per customer"),
        Kpi("high_value_revenue_share", "Top 20% of customers",
            float(tiers.loc["High", "revenue_share"]) if "High" in tiers.index else None,
            "percent", "of net revenue"),
        Kpi("high_churn_risk_customers", "High churn risk",
            float(high["customers"].sum()) if scored else None, "count",
            f"of {fmt.count(scored)} scored" if scored else "not scored yet"),
        Kpi("high_churn_risk_value", "Spent by high-risk customers",
            round(float(high["lifetime_value"].sum()), 2) if scored else None, "money",
            "so far"),
    ]  # fmt: skip


def section(marts: MartFrames) -> Section:
    return Section(
        key="customers",
        title="Customer insights",
        summary="Who the best customers are, how many come back, who they are, what to offer "
        "them, and who may stop buying.",
        kpis=kpis(marts),
        charts=[
            value_tiers(marts),
            repeat_vs_one_time(marts),
            top_customers(marts),
            age_and_gender(marts),
            recommended_products(marts),
            segments_chart(marts),
            recency_frequency(marts),
            churn_bands(marts),
            churn_by_segment(marts),
            churn_distribution(marts),
        ],
    )
