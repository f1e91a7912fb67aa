"""Estimate the bytes a daily incremental run would scan on BigQuery (on-demand billing).

    python benchmarks/bigquery_estimate.py --database data/bench/backfill-365x30000/warehouse.duckdb

An estimate, not a measurement: no BigQuery project is involved. Two inputs:

* **What each query reads**, written down below (``QUERIES``) from the SQL compiled for the
  ``bigquery`` target (``dbt compile`` against the emulator, see docs/performance.md) and the
  Python assets: per query, the tables, the columns and whether it reads the run's one-day
  window (partition pruning) or the whole table.
* **How big those columns are**: BigQuery's logical sizes (STRING 2 + UTF-8 bytes, INT64 /
  FLOAT64 / DATE / DATETIME / TIMESTAMP 8, NUMERIC 16, BOOL 1, ARRAY/STRUCT the sum of
  their leaves, NULL 0) computed over the rows of a warehouse that ``bench_backfill.py``
  loaded on DuckDB, for a warehouse holding H days (rows with transaction_date before
  day H) and for one day (the mean of the last 7 days before H).

On-demand billing counts at least 10 MB per table referenced by a query, which dominates
the window reads. ``line_items`` (the nested order lines of fact_sales) is counted whole
where a query unnests it: an upper bound if BigQuery bills only the leaves referenced.
Loads (raw) are load jobs (free), row counts come from table metadata (free).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import duckdb

MB = 10**6
MIN_BYTES_PER_TABLE = 10 * MB
USD_PER_TIB = 6.25  # on-demand list price, US multi-region, at the time of writing

ALL = "all"  # the whole table: every partition of the columns read
DAY = "day"  # the run's one-day window (partition pruning on transaction_date)
STAR = ("*",)

RAW_FACTS = ("orders", "order_items", "payments", "shipments", "inventory")
RAW_DIMENSIONS = ("customers", "products", "stores", "employees")
SALES_COLUMNS = (
    "transaction_date",
    "store_id",
    "is_sale",
    "customer_id",
    "units",
    "gross_amount",
    "net_revenue",
    "net_amount",
)


def r(entity: str, columns=STAR, scope=DAY):
    return (f"retail_raw.{entity}", tuple(columns), scope)


def s(entity: str, columns=STAR, scope=DAY):
    return (f"retail_silver.{entity}", tuple(columns), scope)


def g(table: str, columns=STAR, scope=DAY):
    return (f"retail_gold.{table}", tuple(columns), scope)


KNOWN = {  # the raw dimension keys a silver model checks against (whole table)
    "orders": [r("customers", ["customer_id"], ALL), r("stores", ["store_id"], ALL)],
    "order_items": [r("products", ["product_id"], ALL)],
    "payments": [r("orders", ["order_id"], ALL)],
    "shipments": [r("orders", ["order_id"], ALL)],
    "inventory": [r("products", ["product_id"], ALL), r("stores", ["store_id"], ALL)],
    "employees": [r("stores", ["store_id"], ALL)],
}

# Mart views: what one query of the view reads.
VIEWS = {
    "agg_customer_segments": [
        g("fact_sales", ["customer_id", "transaction_date", "net_revenue", "is_sale"], ALL)
    ],
    "employee_performance": [
        g("fact_sales", ["employee_id", "is_sale", "net_revenue", "transaction_date"], ALL),
        g("dim_employees", ["employee_id", "store_id", "full_name"], ALL),
    ],
    "shipping_performance": [
        g(
            "fact_shipments",
            ["carrier", "is_delivered", "delay_days", "damaged", "status", "transaction_date"],
            ALL,
        )
    ],
    "payment_mix": [g("fact_payments", ["transaction_date", "method", "status", "amount"], ALL)],
    "top_products_monthly": [
        g("fact_sales", ["transaction_date", "status", "is_sale", "line_items"], ALL),
        g("dim_products", STAR, ALL),
    ],
    "store_inventory_alerts": [
        g(
            "fact_inventory",
            [
                "transaction_date",
                "store_id",
                "product_id",
                "on_hand",
                "reorder_point",
                "below_reorder_point",
            ],
            ALL,
        ),
        g("fact_sales", ["store_id", "transaction_date", "is_sale", "line_items"], ALL),
    ],
    "agg_daily_sales": [g("fact_sales", SALES_COLUMNS, ALL)],
    # agg_daily_sales twice (the same day last week is a self-join) + dim_stores
    "v_executive_summary": [
        g("fact_sales", SALES_COLUMNS, ALL),
        g("fact_sales", SALES_COLUMNS, ALL),
        g("dim_stores", STAR, ALL),
    ],
}
VIEWS["customer_health"] = [
    *VIEWS["agg_customer_segments"],
    ("retail_ml.churn_scores", STAR, ALL),
]

WINDOW_TESTS = {  # dbt tests of the partitioned models, on the window: model -> columns
    "retail_silver.orders": [
        "order_id",
        "order_id",
        "customer_id",
        "store_id",
        "channel",
        "status",
        "transaction_date",
        "updated_at",
    ],
    "retail_silver.order_items": [
        "order_id",
        "line_no",
        "product_id",
        "transaction_date",
        "updated_at",
    ],
    "retail_silver.payments": [
        "payment_id",
        "payment_id",
        "order_id",
        "method",
        "status",
        "transaction_date",
        "updated_at",
    ],
    "retail_silver.shipments": [
        "shipment_id",
        "shipment_id",
        "order_id",
        "status",
        "transaction_date",
        "updated_at",
    ],
    "retail_silver.inventory": ["store_id", "product_id", "transaction_date", "updated_at"],
    "retail_silver.rejects": ["transaction_date", "entity", "reason"],
    "retail_gold.fact_sales": ["order_key", "order_key", "transaction_date", "payment_status"],
    "retail_gold.fact_payments": ["payment_key", "payment_key", "transaction_date"],
    "retail_gold.fact_shipments": ["shipment_key", "shipment_key", "transaction_date"],
    "retail_gold.fact_inventory": ["inventory_key", "inventory_key", "transaction_date"],
}
TABLE_TESTS = {  # dbt tests on whole tables: table -> columns
    "retail_silver.customers": ["customer_id", "customer_id", "loyalty_tier", "updated_at"],
    "retail_silver.products": ["product_id", "product_id", "updated_at"],
    "retail_silver.stores": ["store_id", "store_id", "updated_at"],
    "retail_silver.employees": ["employee_id", "employee_id", "store_id", "updated_at"],
    "retail_gold.dim_customers": ["customer_key", "customer_key", "customer_id"],
    "retail_gold.dim_products": ["product_key", "product_key", "product_id"],
    "retail_gold.dim_stores": ["store_key", "store_key", "store_id"],
    "retail_gold.dim_employees": ["employee_key", "employee_key", "employee_id", "store_id"],
    "retail_ml.churn_features": [
        "customer_id",
        "role",
        "cutoff_date",
        "split",
        "churned",
        "customer_id",
        "customer_id",
        "customer_id",
    ],
}
VIEW_TESTS = {
    "agg_customer_segments": 3,
    "customer_health": 3,
    "employee_performance": 2,
    "shipping_performance": 2,
}
DASHBOARD = [
    "v_executive_summary",
    "agg_daily_sales",
    "top_products_monthly",
    "employee_performance",
    "payment_mix",
    "agg_customer_segments",
    "customer_health",
    "customer_health",
    "store_inventory_alerts",
    "shipping_performance",
]


def queries() -> list[tuple[str, str, list]]:
    """(stage, query, reads) for one daily run of the landing sensor's job."""
    q: list[tuple[str, str, list]] = []
    silver = "silver + gold facts (dbt, one-day window)"
    for entity in RAW_FACTS:  # insert_overwrite: MERGE on the window's static partition
        q.append((silver, f"silver/{entity}", [r(entity), *KNOWN.get(entity, []), s(entity)]))
    for entity in RAW_DIMENSIONS:  # merge: temp table with the candidates, then MERGE
        q.append(
            (
                silver,
                f"silver/{entity} (temp)",
                [r(entity), *KNOWN.get(entity, []), s(entity, STAR, ALL)],
            )
        )
        q.append((silver, f"silver/{entity} (merge)", [s(entity, STAR, ALL)]))
    known = {read for reads in KNOWN.values() for read in reads}
    q.append(
        (
            silver,
            "silver/rejects",
            [*(r(e) for e in (*RAW_FACTS, *RAW_DIMENSIONS)), *known, s("rejects")],
        )
    )
    q.append(
        (
            silver,
            "gold/fact_sales",
            [s("orders"), s("order_items"), s("payments", ["order_id", "status"]), g("fact_sales")],
        )
    )
    q.append((silver, "gold/fact_payments", [s("payments"), g("fact_payments")]))
    q.append(
        (
            silver,
            "gold/fact_shipments",
            [s("shipments"), s("orders", ["order_id", "store_id"]), g("fact_shipments")],
        )
    )
    q.append((silver, "gold/fact_inventory", [s("inventory"), g("fact_inventory")]))
    for table, columns in WINDOW_TESTS.items():
        for column in columns:
            q.append((silver, f"test {table}.{column}", [(table, (column,), DAY)]))
    for entity in RAW_FACTS:
        q.append(
            (
                "reconciliation checks (Python)",
                f"silver/{entity} reconciles with raw",
                [
                    r(entity, ["_partition_date"]),
                    s(entity, ["transaction_date", "_duplicates_removed"]),
                    s("rejects", ["transaction_date", "entity"]),
                ],
            )
        )
    q.append(
        (
            "reconciliation checks (Python)",
            "gold revenue matches silver",
            [
                g("fact_sales", ["transaction_date", "net_revenue", "gross_amount"]),
                s("orders", ["transaction_date", "status"]),
                s("order_items", ["order_id", "quantity", "unit_price", "discount_rate"]),
            ],
        )
    )
    dims = "dims, churn features, mart tests (dbt, whole tables)"
    q.append((dims, "gold/dim_customers", [s("customers", STAR, ALL)]))
    for entity in ("products", "stores", "employees"):
        q.append((dims, f"gold/dim_{entity}", [s(entity, STAR, ALL)]))
    q.append(
        (
            dims,
            "ml/churn_features",
            [
                g(
                    "fact_sales",
                    [
                        "customer_id",
                        "store_id",
                        "transaction_date",
                        "channel",
                        "is_returned",
                        "net_amount",
                        "net_revenue",
                        "gross_amount",
                        "discount_amount",
                        "is_sale",
                    ],
                    ALL,
                ),
                g("dim_stores", ["store_id", "region"], ALL),
            ],
        )
    )
    for table, columns in TABLE_TESTS.items():
        for column in columns:
            q.append((dims, f"test {table}.{column}", [(table, (column,), ALL)]))
    for view, count in VIEW_TESTS.items():
        for i in range(count):
            q.append((dims, f"test marts.{view} #{i + 1}", VIEWS[view]))
    q.append(("churn scores", "read score rows", [("retail_ml.churn_features", STAR, ALL)]))
    for view in DASHBOARD:
        q.append(("dashboard (10 mart queries)", f"dashboard: {view}", VIEWS[view]))
    return q


def _column_bytes(kind: str, column: str, raw: bool) -> str:
    """SQL for the BigQuery logical bytes of one value of a DuckDB column."""
    quoted = f'"{column}"'
    if kind.startswith("VARCHAR"):
        return f"coalesce(2 + strlen({quoted}), 0)"
    if kind.startswith("DECIMAL"):
        return f"(CASE WHEN {quoted} IS NULL THEN 0 ELSE 16 END)"
    if kind == "BOOLEAN":
        return f"(CASE WHEN {quoted} IS NULL THEN 0 ELSE 1 END)"
    if kind.startswith("STRUCT") and kind.endswith("[]"):  # fact_sales.line_items
        leaf = "8 + 2 + strlen(x.product_id) + 2 + strlen(x.product_key) + 8 + 16 * 4"
        return f"coalesce(list_sum(list_transform({quoted}, lambda x: {leaf})), 0)"
    return f"(CASE WHEN {quoted} IS NULL THEN 0 ELSE 8 END)"


class Sizes:
    """Bytes per column of each table for a history of H days and for one day."""

    def __init__(self, database: str, start: date):
        self.connection = duckdb.connect(database, read_only=True)
        self.start = start
        self.columns: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for schema, table, column, kind in self.connection.execute(
            "SELECT table_schema, table_name, column_name, data_type "
            "FROM information_schema.columns WHERE table_schema LIKE 'retail_%' "
            "ORDER BY table_schema, table_name, ordinal_position"
        ).fetchall():
            self.columns[f"{schema}.{table}"].append((column, kind))
        self.cache: dict[tuple[str, str, int], dict[str, float]] = {}

    def _date_column(self, table: str) -> str | None:
        names = [c for c, _ in self.columns[table]]
        if "_partition_date" in names:
            return "CAST(_partition_date AS DATE)"
        return "transaction_date" if "transaction_date" in names else None

    def bytes(self, table: str, columns: tuple[str, ...], scope: str, history: int) -> float:
        key = (table, scope, history)
        if key not in self.cache:
            day = self._date_column(table)
            end = self.start + timedelta(days=history)
            if scope == ALL:
                where = f"{day} < DATE '{end}'" if day else "true"
                days = 1
            else:
                where = f"{day} >= DATE '{end - timedelta(days=7)}' AND {day} < DATE '{end}'"
                days = 7
            raw = table.startswith("retail_raw.")
            parts = ", ".join(
                f'sum({_column_bytes(kind, c, raw)}) AS "{c}"' for c, kind in self.columns[table]
            )
            sql = f"SELECT {parts} FROM {table} WHERE {where}"
            values = self.connection.execute(sql).fetchone()
            self.cache[key] = {
                c: (v or 0) / days for (c, _), v in zip(self.columns[table], values, strict=True)
            }
        sizes = self.cache[key]
        return sum(sizes.values()) if columns == STAR else sum(sizes[c] for c in columns)


def estimate(sizes: Sizes, history: int) -> dict[str, tuple[float, float, int]]:
    """stage -> (bytes read, bytes billed, queries)."""
    result: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
    for stage, _, reads in queries():
        per_table: dict[str, float] = defaultdict(float)
        for table, columns, scope in reads:
            per_table[table] += sizes.bytes(table, columns, scope, history)
        read = sum(per_table.values())
        billed = sum(max(MIN_BYTES_PER_TABLE, b) for b in per_table.values())
        result[stage][0] += read
        result[stage][1] += billed
        result[stage][2] += 1
    return {k: (v[0], v[1], int(v[2])) for k, v in result.items()}


def main(argv: list[str] | None = None) -> dict[int, dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True, help="a warehouse bench_backfill loaded")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2025, 1, 1))
    parser.add_argument("--histories", default="30,365", help="H values, comma-separated")
    args = parser.parse_args(argv)
    if not Path(args.database).exists():
        sys.exit(f"no warehouse at {args.database}")
    sizes = Sizes(args.database, args.start)
    results = {}
    for history in (int(h) for h in args.histories.split(",")):
        stages = estimate(sizes, history)
        results[history] = stages
        read = sum(v[0] for v in stages.values())
        billed = sum(v[1] for v in stages.values())
        print(
            f"daily run on a warehouse of {history} days: {sum(v[2] for v in stages.values())}"
            f" queries read {read / 1e9:.2f} GB, billed {billed / 1e9:.2f} GB "
            f"(~{billed / 2**40 * USD_PER_TIB:.3f} USD on demand)"
        )
        for stage, (stage_read, stage_billed, count) in stages.items():
            print(
                f"  {stage:<55} {count:>3} queries {stage_read / 1e6:>9,.0f} MB read "
                f"{stage_billed / 1e6:>9,.0f} MB billed"
            )
    return results


if __name__ == "__main__":
    main()
