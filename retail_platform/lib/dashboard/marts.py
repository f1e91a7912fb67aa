"""What the dashboard reads from the marts, through the ``Warehouse`` resource.

Every query is a constant: fixed column lists from the marts (``sql/models/marts``),
no text from config or data is put into SQL. The per-customer marts are aggregated in the
warehouse (a production mart has one row per customer); the others are small (days x
stores, months x products, carriers) and are read whole. The SQL is the dialect common to
DuckDB and BigQuery (unqualified ``dataset.table`` names; BigQuery resolves them in the
client's project).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from retail_platform.lib.forecast.metrics import TOTAL
from retail_platform.lib.warehouse import Warehouse

MARTS_SCHEMA = "retail_marts"


@dataclass(frozen=True)
class MartQuery:
    """One read of one mart: ``columns`` come back, computed by ``select`` (default: the
    columns themselves) with an optional ``where`` / ``group_by``."""

    mart: str
    columns: tuple[str, ...]
    select: str = ""
    where: str = ""
    group_by: str = ""

    @property
    def sql(self) -> str:
        sql = f"SELECT {self.select or ', '.join(self.columns)} FROM {MARTS_SCHEMA}.{self.mart}"
        if self.where:
            sql += f" WHERE {self.where}"
        if self.group_by:
            sql += f" GROUP BY {self.group_by}"
        return sql


_SCORED = "churn_probability IS NOT NULL"

#: frame name -> query. Only columns the marts really have (sql/models/marts/*.yml).
QUERIES: Mapping[str, MartQuery] = {
    "executive": MartQuery(
        "v_executive_summary",
        ("transaction_date", "store_id", "store_name", "region", "orders", "customers",
         "items_sold", "net_revenue", "avg_order_value", "net_revenue_same_day_last_week"),
    ),
    # The total of every store only: the executive page shows the business as a whole.
    "forecast": MartQuery(
        "sales_vs_forecast",
        ("forecast_date", "forecast_kind", "actual_net_revenue", "forecast", "forecast_lower",
         "forecast_upper", "interval_level", "trained_through"),
        where=f"store_id = '{TOTAL}'",
    ),
    "daily_sales": MartQuery(
        "agg_daily_sales",
        ("transaction_date", "store_id", "orders", "customers", "items_sold", "gross_revenue",
         "net_revenue", "avg_order_value"),
    ),
    "products": MartQuery(
        "top_products_monthly",
        ("month", "product_id", "product_name", "category", "units", "net_revenue",
         "rank_in_month"),
    ),
    "employees": MartQuery(
        "employee_performance", ("employee_id", "store_id", "full_name", "orders", "net_revenue")
    ),
    "payments": MartQuery(
        "payment_mix", ("transaction_date", "method", "payments", "amount", "failure_rate")
    ),
    "segments": MartQuery(
        "agg_customer_segments",
        ("segment", "r_score", "f_score", "customers", "monetary", "one_time_customers",
         "one_time_monetary"),
        select="segment, r_score, f_score, count(*) AS customers, sum(monetary) AS monetary, "
        "sum(CASE WHEN frequency = 1 THEN 1 ELSE 0 END) AS one_time_customers, "
        "sum(CASE WHEN frequency = 1 THEN monetary ELSE 0 END) AS one_time_monetary",
        group_by="segment, r_score, f_score",
    ),
    "churn_bands": MartQuery(
        "customer_health",
        ("churn_risk_band", "segment", "customers", "lifetime_value", "churn_probability"),
        select="churn_risk_band, segment, count(*) AS customers, "
        "sum(lifetime_value) AS lifetime_value, avg(churn_probability) AS churn_probability",
        where=_SCORED,
        group_by="churn_risk_band, segment",
    ),
    "churn_histogram": MartQuery(
        "customer_health",
        ("bucket", "customers"),
        select="floor(churn_probability * 20) AS bucket, count(*) AS customers",
        where=_SCORED,
        group_by="floor(churn_probability * 20)",
    ),
    "value_tiers": MartQuery(
        "customer_value_tiers",
        ("value_tier", "tier_order", "customers", "customer_share", "net_revenue",
         "revenue_share", "avg_net_revenue_per_customer", "min_customer_net_spend",
         "max_customer_net_spend", "repeat_customers"),
    ),
    "buyer_types": MartQuery(
        "repeat_customer_revenue",
        ("buyer_type", "type_order", "customers", "customer_share", "net_revenue",
         "revenue_share", "avg_net_revenue_per_customer", "avg_revenue_vs_one_time"),
    ),
    "top_customers": MartQuery(
        "top_customers",
        ("revenue_rank", "customer_id", "city", "region", "loyalty_tier", "orders",
         "completed_orders", "net_revenue", "revenue_share", "last_sale_date"),
    ),
    # Customers by age band and gender only: the page shows bands, never a customer.
    "demographics": MartQuery(
        "customer_demographics",
        ("age_band", "gender", "customer_base", "customers", "net_revenue"),
        select="age_band, gender, sum(customer_base) AS customer_base, "
        "sum(customers) AS customers, sum(net_revenue) AS net_revenue",
        group_by="age_band, gender",
    ),
    "recommended": MartQuery(
        "recommended_products",
        ("product_id", "product_name", "category", "customers_top_3", "customers_top_10",
         "share_of_customers_top_3"),
    ),
    "cities": MartQuery(
        "city_sales",
        ("city", "region", "orders", "customers", "net_revenue", "revenue_share",
         "avg_order_value", "revenue_rank"),
    ),
    "categories": MartQuery(
        "category_sales",
        ("month", "category", "orders", "units", "net_revenue", "revenue_share_of_month"),
    ),
    "discount_bands": MartQuery(
        "discount_analysis",
        ("discount_band", "band_order", "order_lines", "units", "unit_share",
         "gross_revenue", "discount_amount", "net_revenue", "revenue_share", "cost_of_goods",
         "gross_margin", "margin_rate"),
    ),
    "inventory": MartQuery(
        "store_inventory_alerts",
        ("store_id", "product_id", "as_of_date", "on_hand", "reorder_point", "avg_daily_units",
         "days_of_cover", "below_reorder_point"),
    ),
    "shipping": MartQuery(
        "shipping_performance",
        ("carrier", "shipments", "delivered", "on_time_rate", "avg_delay_days", "damage_rate",
         "loss_rate"),
    ),
}  # fmt: skip

#: The marts the dashboard reads (the asset's upstream dependencies).
MARTS_READ: tuple[str, ...] = tuple(dict.fromkeys(query.mart for query in QUERIES.values()))

_DATE_COLUMNS = {
    "transaction_date", "month", "as_of_date", "last_sale_date", "forecast_date",
    "trained_through",
}  # fmt: skip
_TEXT_COLUMNS = {
    "store_id", "store_name", "region", "product_id", "product_name", "category",
    "employee_id", "full_name", "method", "segment", "churn_risk_band", "carrier",
    "value_tier", "buyer_type", "customer_id", "city", "loyalty_tier", "discount_band",
    "forecast_kind", "age_band", "gender",
}  # fmt: skip


@dataclass(frozen=True)
class MartFrames:
    """One DataFrame per query in ``QUERIES``: dates as ``datetime64``, money and ratios
    as floats (exact decimals are for the warehouse; a chart needs numbers), text as is."""

    frames: Mapping[str, pd.DataFrame]
    #: Marts the warehouse does not hold yet (read as empty).
    not_built: tuple[str, ...] = ()

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.frames[name]

    def rows(self) -> dict[str, int]:
        return {name: len(frame) for name, frame in self.frames.items()}


def normalized(frame: pd.DataFrame) -> pd.DataFrame:
    """DuckDB and BigQuery return dates, DECIMAL/NUMERIC and booleans as different types;
    this gives one set of dtypes whatever the engine."""
    frame = frame.copy()
    frame.columns = [str(c).lower() for c in frame.columns]
    for column in frame.columns:
        series = frame[column]
        if column in _DATE_COLUMNS:
            frame[column] = pd.to_datetime(series.astype("string"))
        elif column == "below_reorder_point":
            frame[column] = series.astype("boolean").fillna(False).astype(bool)
        elif column in _TEXT_COLUMNS:
            frame[column] = series.astype("string").fillna("(unknown)").astype(object)
        else:
            frame[column] = pd.to_numeric(series.astype(object), errors="raise").astype(float)
    return frame


def load_marts(warehouse: Warehouse) -> MartFrames:
    """Every query of ``QUERIES`` against ``warehouse``. A mart not built yet (one refreshed
    once a day, on a warehouse the landing sensor's runs filled first) reads as empty, so
    its charts say "No data yet" instead of failing the page. Which marts exist is one
    query for all of them."""
    missing = set(MARTS_READ) - warehouse.relations_in(MARTS_SCHEMA)
    empty = empty_marts()
    return MartFrames(
        {
            name: empty[name] if query.mart in missing else normalized(warehouse.frame(query.sql))
            for name, query in QUERIES.items()
        },
        not_built=tuple(sorted(missing)),
    )


def empty_marts() -> MartFrames:
    """What ``load_marts`` gives on a warehouse whose marts have no rows yet."""
    return MartFrames(
        {
            name: normalized(pd.DataFrame({c: pd.Series(dtype=object) for c in query.columns}))
            for name, query in QUERIES.items()
        }
    )
