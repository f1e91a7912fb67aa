"""The platform's transforms as one hand-written DuckDB script: the limit on this machine.

    python -m benchmarks.baseline_duckdb --landing DIR --database FILE [--json OUT]

No orchestration, no dbt, no pandas: one DuckDB connection, bulk SQL over every landed
file at once, four timed stages:

1. **load** (raw): per entity, ``read_json`` over ``<entity>/*/*.jsonl``, every value kept
   as text, plus the source file and the folder's date; one table per entity.
2. **silver** (dedup/merge): cast every column to its contract type with ``try_cast``,
   give each row the first reason it is invalid (null key, a value that does not cast,
   partition mismatch, missing ``updated_at`` or required column, the entity's own rules
   incl. unknown customer/store/product/order: no valid version in the referenced silver
   table, as ``sql/models/silver`` does), keep the newest version per
   natural key, and write the invalid rows to ``rejects`` with their payload as JSON.
3. **gold**: ``fact_sales`` (one row per order, lines nested as a list of structs, md5
   surrogate keys, payment status, net revenue by the contract, an order with no valid
   line flagged incomplete and no sale), ``fact_payments``,
   ``fact_shipments``, ``fact_inventory`` and the four dimensions with surrogate keys.
4. **marts**: ``agg_daily_sales`` (sales per day and store by the contract's metrics) as
   a table (the platform builds seven mart tables; the baseline only this one).

What it does not do (the platform does): per-file validation and quarantine of malformed
files, ``_extra`` (unexpected fields) and ``_source_line`` (ties in the newest-version
order are broken by file name only), ``_ingested_at``, the partition-window bookkeeping
(delete + insert per window, MERGE of dimensions against earlier windows), dbt tests and
reconciliation checks, the other marts, the churn model, and any
run/asset metadata. Everything is built once over the whole history, so it is what a
year backfill costs when nothing but the SQL runs. DuckDB runs with its default threads
(one per core) and ``memory_limit`` 8GB (it spills to disk beyond that), so the script
stays well inside a machine that others share.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import duckdb

from retail_platform.lib.entities import (
    ENTITIES,
    Entity,
    reference_order,
    unknown_reason,
)

SQL_TYPES = {
    "string": "VARCHAR",
    "int": "BIGINT",
    "decimal": "DECIMAL(18, 2)",
    "rate": "DECIMAL(6, 4)",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "bool": "BOOLEAN",
}
DIMENSIONS = tuple(name for name, entity in ENTITIES.items() if entity.is_dimension)


def known(entity: str, column: str) -> str:
    """The keys with a valid version (contract): the referenced entity's silver table,
    built before the entities that reference it (SILVER_ORDER)."""
    return f"(SELECT {column} FROM silver_{entity})"


# Referenced entities first (the contract's references): dimensions, then orders.
SILVER_ORDER = tuple(reference_order(ENTITIES))


# (required columns, [(condition, reason)]) per entity, as in sql/models/silver/validated;
# the contract's references are checked after these (known_key_checks).
RULES: dict[str, tuple[list[str], list[tuple[str, str]]]] = {
    "orders": (
        ["customer_id", "store_id", "channel", "status", "ordered_at"],
        [
            ("channel NOT IN ('in_store', 'online')", "invalid_channel"),
            ("status NOT IN ('completed', 'cancelled', 'returned')", "invalid_status"),
        ],
    ),
    "order_items": (
        ["product_id", "quantity", "unit_price", "discount_rate", "line_amount"],
        [
            ("quantity <= 0", "non_positive_quantity"),
            ("unit_price < 0", "negative_price"),
            ("discount_rate < 0 OR discount_rate >= 1", "invalid_discount"),
            (
                "abs(line_amount - round(quantity * unit_price * (1 - discount_rate), 2)) > 0.01",
                "line_amount_mismatch",
            ),
        ],
    ),
    "payments": (
        ["order_id", "method", "status", "amount", "attempt"],
        [
            ("method NOT IN ('card', 'cash', 'bank_transfer', 'wallet')", "invalid_method"),
            ("status NOT IN ('succeeded', 'failed', 'refunded')", "invalid_status"),
            ("amount < 0", "negative_amount"),
            ("attempt < 1", "invalid_attempt"),
        ],
    ),
    "shipments": (
        ["order_id", "carrier", "status", "shipped_at", "damaged", "cost"],
        [
            ("status NOT IN ('delivered', 'in_transit', 'lost', 'returned')", "invalid_status"),
            ("cost < 0", "negative_cost"),
            ("delivered_at < shipped_at", "delivered_before_shipped"),
        ],
    ),
    "inventory": (
        ["on_hand", "reorder_point", "received_qty", "damaged_qty"],
        [
            (
                "on_hand < 0 OR reorder_point < 0 OR received_qty < 0 OR damaged_qty < 0",
                "negative_quantity",
            ),
        ],
    ),
    "customers": (
        ["email", "loyalty_tier", "signup_date"],
        [
            ("loyalty_tier NOT IN ('bronze', 'silver', 'gold')", "invalid_loyalty_tier"),
            ("gender NOT IN ('female', 'male', 'other')", "invalid_gender"),
            (
                "birth_date > transaction_date OR birth_date < DATE '1900-01-01'",
                "implausible_birth_date",
            ),
        ],
    ),
    "products": (
        ["name", "category", "list_price", "unit_cost"],
        [("list_price < 0", "negative_price"), ("unit_cost < 0", "negative_cost")],
    ),
    "stores": (["name", "region"], []),
    "employees": (["store_id", "full_name"], []),
}


def load_sql(entity: Entity, landing: Path) -> str:
    columns = ", ".join(f"'{name}': 'VARCHAR'" for name in entity.column_names)
    pattern = str(landing / entity.name / "*" / "*.jsonl").replace("'", "''")
    return f"""
        CREATE OR REPLACE TABLE raw_{entity.name} AS
        SELECT * EXCLUDE (filename),
               filename AS _source_file,
               CAST(regexp_extract(filename, 'transaction_date=([0-9-]+)', 1) AS DATE)
                   AS _partition_date
        FROM read_json('{pattern}', format = 'newline_delimited', columns = {{{columns}}},
                       filename = true, hive_partitioning = false)
    """


def validated_sql(entity: Entity) -> str:
    """The raw rows typed, with the first reason each one is invalid (null when valid)."""
    required, checks = RULES[entity.name]
    checks = checks + [
        (f"{column} NOT IN {known(referenced, column)}", unknown_reason(column))
        for referenced, column in entity.references
    ]
    typed = ", ".join(
        name if kind == "string" else f"TRY_CAST({name} AS {SQL_TYPES[kind]}) AS {name}"
        for name, kind in entity.columns
    )
    payload = ", ".join(f"{name} := {name}" for name in entity.column_names)
    reasons = [f"WHEN r.{k} IS NULL THEN 'null_key'" for k in entity.natural_key]
    reasons += [
        f"WHEN r.{name} IS NOT NULL AND TRY_CAST(r.{name} AS {SQL_TYPES[kind]}) IS NULL "
        f"THEN 'invalid_{name}'"
        for name, kind in entity.columns
        if kind != "string"
    ]
    reasons.append(
        "WHEN TRY_CAST(r.transaction_date AS DATE) <> r._partition_date THEN 'partition_mismatch'"
    )
    reasons.append("WHEN r.updated_at IS NULL THEN 'missing_updated_at'")
    reasons += [f"WHEN r.{name} IS NULL THEN 'missing_{name}'" for name in required]
    rules = " ".join(f"WHEN {condition} THEN '{reason}'" for condition, reason in checks)
    rule_case = f"CASE {rules} END" if rules else "NULL"
    return f"""
        SELECT *, coalesce(_cast_failure, {rule_case}) AS _reject_reason
        FROM (
            SELECT {typed},
                   CAST(to_json(struct_pack({payload})) AS VARCHAR) AS _payload,
                   r._source_file, r._partition_date,
                   CASE {" ".join(reasons)} END AS _cast_failure
            FROM raw_{entity.name} AS r
        )
    """


def silver_sql(entity: Entity) -> list[str]:
    keys = ", ".join(entity.natural_key)
    columns = ", ".join([*entity.column_names, "_source_file"])
    duplicates = (
        ""
        if entity.name in DIMENSIONS
        else f", count(*) OVER (PARTITION BY {keys}) - 1 AS _duplicates_removed"
    )
    return [
        f"CREATE OR REPLACE TEMP TABLE validated_{entity.name} AS {validated_sql(entity)}",
        f"""CREATE OR REPLACE TABLE silver_{entity.name} AS
            SELECT {columns}{duplicates}
            FROM validated_{entity.name}
            WHERE _reject_reason IS NULL
            QUALIFY row_number() OVER (
                PARTITION BY {keys} ORDER BY updated_at DESC, _source_file) = 1""",
    ]


def rejects_sql() -> str:
    parts = [
        f"""SELECT _partition_date AS transaction_date, '{e.name}' AS entity,
                   concat_ws('|', {", ".join(f"CAST({k} AS VARCHAR)" for k in e.natural_key)})
                       AS natural_key,
                   _reject_reason AS reason, _source_file AS source_file, _payload AS payload
            FROM validated_{e.name} WHERE _reject_reason IS NOT NULL"""
        for e in ENTITIES.values()
    ]
    return "CREATE OR REPLACE TABLE rejects AS " + " UNION ALL ".join(parts)


def key(*columns: str) -> str:
    parts = " || '|' || ".join(f"coalesce(CAST({c} AS VARCHAR), '\\x00')" for c in columns)
    return f"md5({parts})"


GOLD = [
    f"""CREATE OR REPLACE TABLE fact_sales AS
    WITH lines AS (
        SELECT order_id, line_no, product_id, quantity, unit_price, discount_rate,
               CAST(round(quantity * unit_price, 2) AS DECIMAL(18, 2)) AS gross_amount,
               CAST(round(quantity * unit_price * (1 - discount_rate), 2) AS DECIMAL(18, 2))
                   AS line_amount
        FROM silver_order_items
    ),
    order_lines AS (
        SELECT order_id,
               list_sort(list(struct_pack(line_no := line_no, product_id := product_id,
                                product_key := {key("product_id")}, quantity := quantity,
                                unit_price := unit_price, discount_rate := discount_rate,
                                gross_amount := gross_amount, line_amount := line_amount)))
                   AS line_items,
               count(*) AS line_count, sum(quantity) AS units,
               sum(gross_amount) AS gross_amount, sum(line_amount) AS net_amount
        FROM lines GROUP BY order_id
    ),
    payments AS (
        SELECT order_id,
               CASE WHEN bool_or(status = 'refunded') THEN 'refunded'
                    WHEN bool_or(status = 'succeeded') THEN 'paid' ELSE 'failed' END
                   AS payment_status,
               count(*) AS payment_attempts
        FROM silver_payments GROUP BY order_id
    )
    SELECT {key("o.order_id")} AS order_key, o.order_id, o.transaction_date, o.ordered_at,
           {key("o.customer_id")} AS customer_key, {key("o.store_id")} AS store_key,
           CASE WHEN o.employee_id IS NOT NULL THEN {key("o.employee_id")} END AS employee_key,
           o.customer_id, o.store_id, o.employee_id, o.channel, o.status,
           o.status IN ('completed', 'returned') AND l.order_id IS NOT NULL AS is_sale,
           l.order_id IS NULL AS is_incomplete,
           o.status = 'returned' AS is_returned, o.status = 'cancelled' AS is_cancelled,
           coalesce(p.payment_status, 'none') AS payment_status,
           coalesce(p.payment_attempts, 0) AS payment_attempts,
           l.line_items, coalesce(l.line_count, 0) AS line_count,
           coalesce(l.units, 0) AS units,
           CAST(coalesce(l.gross_amount, 0) AS DECIMAL(18, 2)) AS gross_amount,
           CAST(coalesce(l.net_amount, 0) AS DECIMAL(18, 2)) AS net_amount,
           CAST(coalesce(l.gross_amount - l.net_amount, 0) AS DECIMAL(18, 2))
               AS discount_amount,
           CAST(CASE WHEN o.status = 'completed' THEN coalesce(l.net_amount, 0) ELSE 0 END
                AS DECIMAL(18, 2)) AS net_revenue,
           CAST(CASE WHEN o.status = 'returned' THEN -coalesce(l.net_amount, 0) ELSE 0 END
                AS DECIMAL(18, 2)) AS returned_amount
    FROM silver_orders o
    LEFT JOIN order_lines l ON l.order_id = o.order_id
    LEFT JOIN payments p ON p.order_id = o.order_id""",
    f"""CREATE OR REPLACE TABLE fact_payments AS
    SELECT {key("payment_id")} AS payment_key, payment_id, {key("order_id")} AS order_key,
           order_id, transaction_date, method, status, amount, attempt, paid_at
    FROM silver_payments""",
    f"""CREATE OR REPLACE TABLE fact_shipments AS
    SELECT {key("s.shipment_id")} AS shipment_key, s.shipment_id,
           {key("s.order_id")} AS order_key, s.order_id, o.store_id, s.transaction_date,
           s.carrier, s.service_level, s.status, s.shipped_at, s.promised_on,
           s.delivered_at, s.damaged, s.cost, s.delivered_at IS NOT NULL AS is_delivered,
           CASE WHEN s.delivered_at IS NOT NULL
                THEN date_diff('day', s.promised_on, CAST(s.delivered_at AS DATE)) END
               AS delay_days
    FROM silver_shipments s LEFT JOIN silver_orders o ON o.order_id = s.order_id""",
    f"""CREATE OR REPLACE TABLE fact_inventory AS
    SELECT {key("store_id", "product_id", "transaction_date")} AS inventory_key,
           {key("store_id")} AS store_key, {key("product_id")} AS product_key,
           store_id, product_id, transaction_date, on_hand, reorder_point, received_qty,
           damaged_qty, on_hand < reorder_point AS below_reorder_point
    FROM silver_inventory""",
    *(
        f"CREATE OR REPLACE TABLE dim_{name} AS "
        f"SELECT {key(ENTITIES[name].natural_key[0])} AS {name[:-1]}_key, * "
        f"FROM silver_{name}"
        for name in DIMENSIONS
    ),
]

MARTS = [
    """CREATE OR REPLACE TABLE agg_daily_sales AS
    SELECT transaction_date, store_id,
           sum(CASE WHEN is_sale THEN 1 ELSE 0 END) AS orders,
           count(DISTINCT CASE WHEN is_sale THEN customer_id END) AS customers,
           sum(CASE WHEN is_sale THEN units ELSE 0 END) AS items_sold,
           CAST(sum(CASE WHEN is_sale THEN gross_amount ELSE 0 END) AS DECIMAL(18, 2))
               AS gross_revenue,
           CAST(sum(net_revenue) AS DECIMAL(18, 2)) AS net_revenue,
           CAST(round(sum(CASE WHEN is_sale THEN net_amount ELSE 0 END)
                      / nullif(sum(CASE WHEN is_sale THEN 1 ELSE 0 END), 0), 2)
                AS DECIMAL(18, 2)) AS avg_order_value
    FROM fact_sales GROUP BY transaction_date, store_id"""
]


def run_baseline(landing: Path, database: Path, memory_limit: str = "8GB") -> dict[str, object]:
    for path in (database, Path(f"{database}.wal")):
        path.unlink(missing_ok=True)
    stages: dict[str, list[str]] = {
        "load": [load_sql(e, landing) for e in ENTITIES.values()],
        "silver": [s for name in SILVER_ORDER for s in silver_sql(ENTITIES[name])]
        + [rejects_sql()],
        "gold": GOLD,
        "marts": MARTS,
    }
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    with duckdb.connect(str(database), config={"memory_limit": memory_limit}) as connection:
        for stage, statements in stages.items():
            t0 = time.perf_counter()
            for statement in statements:
                connection.execute(statement)
            connection.execute("CHECKPOINT")
            seconds[stage] = time.perf_counter() - t0
        total = time.perf_counter() - started
        count = {
            name: connection.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
            for name in (
                *(f"raw_{e}" for e in ENTITIES),
                *(f"silver_{e}" for e in ENTITIES),
                "rejects",
                "fact_sales",
                "fact_payments",
                "fact_shipments",
                "fact_inventory",
                "agg_daily_sales",
            )
        }
        threads = connection.execute("SELECT current_setting('threads')").fetchone()[0]
    return {
        "seconds": seconds,
        "total_seconds": total,
        "rows": count,
        "raw_rows": sum(v for k, v in count.items() if k.startswith("raw_")),
        "database_bytes": database.stat().st_size,
        "duckdb_threads": threads,
    }


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--landing", required=True, help="a local landing folder")
    parser.add_argument("--database", required=True, help="DuckDB file to (re)create")
    parser.add_argument("--json", help="write the figures to this file too")
    parser.add_argument(
        "--memory-limit", default="8GB", help="DuckDB memory_limit (default 8GB; it spills past it)"
    )
    args = parser.parse_args(argv)
    figures = run_baseline(Path(args.landing), Path(args.database), args.memory_limit)
    seconds = figures["seconds"]
    print(
        f"baseline (one DuckDB script): {figures['total_seconds']:.1f} s = "
        + ", ".join(f"{stage} {s:.1f} s" for stage, s in seconds.items())
        + f"; {figures['raw_rows']:,} raw rows, "
        f"{figures['rows']['fact_sales']:,} fact_sales rows"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    return figures


if __name__ == "__main__":
    main()
