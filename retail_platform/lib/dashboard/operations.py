"""Inventory & shipping: stock alerts, days of cover, carrier delays and damage (marts
``store_inventory_alerts`` and ``shipping_performance``)."""

from __future__ import annotations

import plotly.graph_objects as go

from retail_platform.lib.dashboard import format as fmt
from retail_platform.lib.dashboard.executive import store_labels
from retail_platform.lib.dashboard.marts import MartFrames
from retail_platform.lib.dashboard.model import HEIGHT, Chart, Kpi, Section, styled, weighted

COVER_CAP = 60  # days; the histogram's last bin holds everything above
LOWEST = 15
NO_STOCK = "no stock count loaded yet"
NO_SHIPMENTS = "no shipments loaded yet"


def _product_names(marts: MartFrames) -> dict[str, str]:
    products = marts["products"].drop_duplicates("product_id")
    return dict(zip(products["product_id"], products["product_name"], strict=True))


def stock_alerts(marts: MartFrames) -> Chart:
    key, title = "stock-alerts", "Stock alerts: products below their reorder point, per store"
    stock = marts["inventory"]
    if stock.empty:
        return Chart.no_data(key, title, NO_STOCK)
    labels = store_labels(marts["executive"])
    stores = (
        stock.groupby("store_id")
        .agg(below=("below_reorder_point", "sum"), products=("product_id", "count"))
        .sort_values("below")
    )
    names = [labels.get(s, s) for s in stores.index]
    figure = go.Figure(
        go.Bar(
            x=stores["below"], y=names, orientation="h", marker_color="#d1495b",
            customdata=stores[["products"]],
            hovertemplate="%{y}: %{x:,} of %{customdata[0]:,} products below reorder point"
            "<extra></extra>",
        )
    )  # fmt: skip
    styled(figure).update_layout(
        margin={"l": 200}, height=max(HEIGHT, 26 * len(stores) + 80), xaxis_title="products"
    )
    as_of = stock["as_of_date"].max()
    return Chart(key, title, figure, f"Stock at the latest count, {as_of:%d %b %Y}.")


def days_of_cover(marts: MartFrames) -> Chart:
    key, title = "days-of-cover", "Days of stock left at the recent rate of sales"
    stock = marts["inventory"]
    covered = stock.dropna(subset=["days_of_cover"])
    if covered.empty:
        return Chart.no_data(key, title, NO_STOCK if stock.empty else "no recent sales")
    figure = go.Figure(
        [
            go.Histogram(
                x=group["days_of_cover"].clip(upper=COVER_CAP), name=name,
                xbins={"start": 0, "end": COVER_CAP + 2, "size": 2},
                marker_color="#d1495b" if below else "#3366cc",
            )
            for below, group in covered.groupby("below_reorder_point")
            for name in ["below reorder point" if below else "at or above"]
        ]
    )  # fmt: skip
    styled(figure).update_layout(
        barmode="stack", xaxis_title=f"days of cover ({COVER_CAP}+ in the last bin)",
        yaxis_title="products in stores",
    )  # fmt: skip
    without = len(stock) - len(covered)
    left_out = (
        f" {without:,} products in stores sold nothing in those 4 weeks and are left out."
        if without
        else ""
    )
    return Chart(
        key, title, figure, "Units in stock ÷ units sold a day over the last 4 weeks." + left_out
    )


def lowest_cover(marts: MartFrames) -> Chart:
    key, title = "lowest-cover", f"Below reorder point: the {LOWEST} with the fewest days of cover"
    stock = marts["inventory"]
    below = stock[stock["below_reorder_point"]]
    if below.empty:
        return Chart.no_data(
            key, title, NO_STOCK if stock.empty else "no product is below its reorder point"
        )
    labels, names = store_labels(marts["executive"]), _product_names(marts)
    rows = below.sort_values(["days_of_cover", "on_hand"], na_position="last").head(LOWEST)
    figure = go.Figure(
        go.Table(
            columnwidth=[3, 4, 1.3, 1.3, 1.5, 1.5],
            header={"values": ["store", "product", "on hand", "reorder point", "units / day",
                               "days of cover"],
                    "fill_color": "#2c3e50", "font": {"color": "white"}, "align": "left"},
            cells={"values": [
                [labels.get(s, s) for s in rows["store_id"]],
                [f"{names.get(p, p)} ({p})" for p in rows["product_id"]],
                rows["on_hand"].map("{:,.0f}".format),
                rows["reorder_point"].map("{:,.0f}".format),
                rows["avg_daily_units"].map(lambda v: "–" if v != v else f"{v:.2f}"),
                rows["days_of_cover"].map(lambda v: "no recent sales" if v != v else f"{v:.1f}"),
            ], "align": "left", "height": 22},
        )
    )  # fmt: skip
    styled(figure).update_layout(
        margin={"l": 10, "r": 10, "t": 10, "b": 10}, height=23 * (len(rows) + 1) + 40
    )
    return Chart(key, title, figure, wide=True)


def on_time_and_delay(marts: MartFrames) -> Chart:
    key, title = "carrier-on-time", "Carriers: on-time rate and average delay"
    shipping = marts["shipping"].sort_values("carrier")
    if shipping.empty:
        return Chart.no_data(key, title, NO_SHIPMENTS)
    figure = go.Figure(
        [
            go.Bar(x=shipping["carrier"], y=shipping["on_time_rate"], name="on time"),
            go.Scatter(
                x=shipping["carrier"], y=shipping["avg_delay_days"], yaxis="y2",
                name="average delay, days (right)", mode="markers", marker={"size": 14},
            ),
        ]
    )  # fmt: skip
    styled(figure, percent_axis="y").update_layout(
        yaxis={"range": [0, 1]},
        yaxis2={"overlaying": "y", "side": "right", "showgrid": False},
    )
    fmt.round_axis(figure, shipping["avg_delay_days"], axis="yaxis2", title="days late")
    return Chart(
        key, title, figure,
        "Of the delivered shipments; an early delivery counts as on time, 0 days late.",
    )  # fmt: skip


def damage_and_loss(marts: MartFrames) -> Chart:
    key, title = "carrier-damage", "Carriers: damage and loss rates"
    shipping = marts["shipping"].sort_values("carrier")
    if shipping.empty:
        return Chart.no_data(key, title, NO_SHIPMENTS)
    figure = go.Figure(
        [
            go.Bar(x=shipping["carrier"], y=shipping["damage_rate"], name="damaged",
                   marker_color="#dc7633"),
            go.Bar(x=shipping["carrier"], y=shipping["loss_rate"], name="lost",
                   marker_color="#7f8c8d"),
        ]
    )  # fmt: skip
    styled(figure, percent_axis="y").update_layout(barmode="group")
    return Chart(key, title, figure, "Shares of all the carrier's shipments.")


def kpis(marts: MartFrames) -> list[Kpi]:
    stock, shipping = marts["inventory"], marts["shipping"]
    as_of = stock["as_of_date"].max() if not stock.empty else None
    cover = stock["days_of_cover"].dropna()
    return [
        Kpi("below_reorder_point", "Below reorder point",
            float(stock["below_reorder_point"].sum()) if as_of is not None else None, "count",
            f"of {len(stock):,} products in stores" if as_of is not None else ""),
        Kpi("median_days_of_cover", "Days of stock left",
            float(cover.median()) if not cover.empty else None, "days", "median"),
        Kpi("shipments", "Shipments",
            float(shipping["shipments"].sum()) if not shipping.empty else None, "count"),
        Kpi("on_time_rate", "On time", weighted(shipping["on_time_rate"], shipping["delivered"]),
            "percent", "of delivered"),
        Kpi("damage_rate", "Damaged", weighted(shipping["damage_rate"], shipping["shipments"]),
            "percent", "of shipments"),
    ]  # fmt: skip


def section(marts: MartFrames) -> Section:
    return Section(
        key="operations",
        title="Inventory & shipping",
        summary="What is running low in the stores, and how well each carrier delivers.",
        kpis=kpis(marts),
        charts=[
            stock_alerts(marts),
            days_of_cover(marts),
            lowest_cover(marts),
            on_time_and_delay(marts),
            damage_and_loss(marts),
        ],
    )
