"""The days outside a run's window that its partitioned dbt step must rebuild too.

The contract: a key lives on the ``transaction_date`` of its newest valid version, an order
line (or payment) belongs to its order whatever day it landed on, and a row that names a key
no file had landed yet (``unknown_customer``, ``unknown_order``, ...) becomes valid once one
lands. So files landed for the window's days can change other days:

* a key whose newer version landed in the window leaves the day silver holds it on;
* an order whose lines, payments or shipments landed in the window changes in
  ``gold/fact_sales`` (and the daily marts) on the order's day;
* an order that changed in the window changes its shipments' store in ``fact_shipments``;
* a row rejected for a key that lands in the window is valid now, on its own day: a
  dimension key, or a valid version of an order (a payment or shipment is valid only if its
  order has one); and a payment or shipment whose order was rejected for such a key (its
  customer or store) too, as the order becomes valid in the same run.

Those days are found here, from the raw rows the run just loaded and silver as it stands,
before dbt runs; the dbt step then replaces the window's days and these (sql/macros/
window.sql, ``RETAIL_WINDOW_EXTRA_DAYS``). That is what makes every table the same however
the days were run: one run, day by day, in any order, re-runs included.
"""

from __future__ import annotations

from datetime import date, datetime, time

from retail_platform.defs.raw.assets import RAW_SCHEMA
from retail_platform.lib.entities import ENTITIES, PARTITION_COLUMN, unknown_reason
from retail_platform.lib.warehouse import Warehouse

SILVER_SCHEMA = "retail_silver"
REJECTS = "rejects"

# Silver days that hold a row the window's raw rows change: (silver table, condition on
# its rows, raw entities the condition reads). Identifiers only, from the contract.
_SILVER_DAYS = (
    # re-dated orders, and orders whose lines, payments or shipments changed
    (
        "orders",
        "order_id IN (SELECT order_id FROM {orders} UNION ALL SELECT order_id FROM "
        "{order_items} UNION ALL SELECT order_id FROM {payments} "
        "UNION ALL SELECT order_id FROM {shipments})",
        ("orders", "order_items", "payments", "shipments"),
    ),
    # order lines that moved (looked up by their order: a line's key includes it)
    ("order_items", "order_id IN (SELECT order_id FROM {order_items})", ("order_items",)),
    ("payments", "payment_id IN (SELECT payment_id FROM {payments})", ("payments",)),
    # moved shipments, and shipments of changed orders (fact_shipments shows their store)
    (
        "shipments",
        "shipment_id IN (SELECT shipment_id FROM {shipments}) "
        "OR order_id IN (SELECT order_id FROM {orders})",
        ("orders", "shipments"),
    ),
)


class _Query:
    """SELECTs of days, each with its positional parameters (the window's bounds)."""

    def __init__(self, start: date, end: date) -> None:
        self.bounds = [datetime.combine(start, time()), datetime.combine(end, time())]
        self.parts: list[str] = []
        self.parameters: list[datetime] = []

    def window_rows(self, entity: str) -> str:
        """A subquery of ``entity``'s raw rows in the window; adds its parameters, so
        call it in the order the subqueries appear in the SQL."""
        self.parameters += self.bounds
        return (
            f"(SELECT * FROM {RAW_SCHEMA}.{entity} "
            f"WHERE {PARTITION_COLUMN} >= ? AND {PARTITION_COLUMN} < ?)"
        )

    def add(self, sql: str) -> None:
        self.parts.append(sql)


def _existing(warehouse: Warehouse, schema: str, tables: list[str]) -> set[str]:
    found = set()
    for table in tables:
        try:
            warehouse.query(f"SELECT 1 FROM {schema}.{table} WHERE false")
        except Exception as error:  # noqa: BLE001 - only "no such table" is expected
            if not _is_missing_table(error):
                raise
            continue
        found.add(table)
    return found


def _is_missing_table(error: Exception) -> bool:
    text = str(error).lower()
    return "does not exist" in text or "not found" in text


# What a raw table that was never created contributes to _SILVER_DAYS: no rows.
_NO_ROWS = (
    "(SELECT CAST(NULL AS STRING) AS order_id, CAST(NULL AS STRING) AS payment_id, "
    "CAST(NULL AS STRING) AS shipment_id FROM (SELECT 1 AS one) AS nothing WHERE false)"
)


def _moved_rows(query: _Query, silver: set[str], raw: set[str]) -> None:
    for table, condition, reads in _SILVER_DAYS:
        if table not in silver or not set(reads) & raw:
            continue
        # window_rows in the order the placeholders appear in the condition
        order = sorted(reads, key=lambda name: condition.index("{" + name + "}"))
        sources: dict[str, str] = {}
        for name in order:
            sources[name] = query.window_rows(name) if name in raw else _NO_ROWS
        query.add(
            f"SELECT transaction_date FROM {SILVER_SCHEMA}.{table} "
            f"WHERE {condition.format(**sources)}"
        )


def _rows_a_new_key_validates(query: _Query, raw: set[str]) -> None:
    for entity in ENTITIES.values():
        for referenced, column in entity.references:
            if entity.name not in raw or referenced not in raw:
                continue
            keys = _keys_that_may_become_valid(query, referenced, column, raw)
            query.add(
                f"SELECT rejected.transaction_date FROM {SILVER_SCHEMA}.{REJECTS} AS rejected "
                f"JOIN {RAW_SCHEMA}.{entity.name} AS row_ "
                "ON row_._source_file = rejected.source_file "
                "AND row_._source_line = rejected.source_line "
                f"WHERE rejected.entity = '{entity.name}' "
                f"AND rejected.reason = '{unknown_reason(column)}' "
                f"AND row_.{column} IN ({keys})"
            )


def _keys_that_may_become_valid(query: _Query, entity: str, column: str, raw: set[str]) -> str:
    """A SELECT of the ``column`` keys of ``entity`` that the window's files may make known:
    the keys its raw window rows name (a dimension key that lands; an order's valid version
    that lands) and, for an entity that references others itself (orders), the keys of its
    rejected rows whose own missing key may become known in the window (a customer landing
    validates their order, and so the order's payments and shipments). A superset: a day
    rebuilt for nothing is rebuilt to the same rows."""
    parts = [f"SELECT {column} FROM {query.window_rows(entity)} AS landed"]
    for referenced, reference_column in ENTITIES[entity].references:
        if referenced not in raw:
            continue
        inner = _keys_that_may_become_valid(query, referenced, reference_column, raw)
        parts.append(
            f"SELECT row_.{column} FROM {SILVER_SCHEMA}.{REJECTS} AS rejected "
            f"JOIN {RAW_SCHEMA}.{entity} AS row_ "
            "ON row_._source_file = rejected.source_file "
            "AND row_._source_line = rejected.source_line "
            f"WHERE rejected.entity = '{entity}' "
            f"AND rejected.reason = '{unknown_reason(reference_column)}' "
            f"AND row_.{reference_column} IN ({inner})"
        )
    return " UNION ALL ".join(parts)


def rebuild_days(warehouse: Warehouse, start: date, end: date) -> list[date]:
    """Days outside [start, end) that silver holds rows on which the window's raw rows
    change (see the module docstring), sorted. None on a warehouse without silver yet."""
    silver = _existing(warehouse, SILVER_SCHEMA, [t for t, _, _ in _SILVER_DAYS] + [REJECTS])
    if not silver:
        return []
    raw = _existing(warehouse, RAW_SCHEMA, list(ENTITIES))
    query = _Query(start, end)
    _moved_rows(query, silver, raw)
    if REJECTS in silver:
        _rows_a_new_key_validates(query, raw)
    if not query.parts:
        return []
    rows = warehouse.query("\nUNION DISTINCT\n".join(query.parts), query.parameters)
    days = {_as_date(day) for (day,) in rows}
    return sorted(day for day in days if day is not None and not start <= day < end)


def _as_date(value: date | datetime | str | None) -> date | None:
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(str(value)[:10])
