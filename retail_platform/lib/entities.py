"""The landing contract in code: every entity's columns, types and natural key.

This mirrors ``docs/contract.md``. The raw layer keeps every value as the text
that landed (so CSV and JSONL land identically); the types below are what the
silver layer casts to and validates against.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

LogicalType = Literal["string", "int", "decimal", "rate", "date", "timestamp", "bool"]


@dataclass(frozen=True)
class Entity:
    """One source entity delivered to the landing zone."""

    name: str
    natural_key: tuple[str, ...]
    columns: tuple[tuple[str, LogicalType], ...]

    @property
    def column_names(self) -> list[str]:
        return [name for name, _ in self.columns]

    @property
    def is_dimension(self) -> bool:
        return self.name in DIMENSIONS


def _entity(name: str, key: tuple[str, ...], *columns: tuple[str, LogicalType]) -> Entity:
    common: tuple[tuple[str, LogicalType], ...] = (
        ("transaction_date", "date"),
        ("updated_at", "timestamp"),
    )
    return Entity(name=name, natural_key=key, columns=tuple(columns) + common)


ORDERS = _entity(
    "orders",
    ("order_id",),
    ("order_id", "string"),
    ("customer_id", "string"),
    ("store_id", "string"),
    ("employee_id", "string"),
    ("channel", "string"),
    ("status", "string"),
    ("ordered_at", "timestamp"),
)
ORDER_ITEMS = _entity(
    "order_items",
    ("order_id", "line_no"),
    ("order_id", "string"),
    ("line_no", "int"),
    ("product_id", "string"),
    ("quantity", "int"),
    ("unit_price", "decimal"),
    ("discount_rate", "rate"),
    ("line_amount", "decimal"),
)
CUSTOMERS = _entity(
    "customers",
    ("customer_id",),
    ("customer_id", "string"),
    ("first_name", "string"),
    ("last_name", "string"),
    ("email", "string"),
    ("city", "string"),
    ("region", "string"),
    ("loyalty_tier", "string"),
    ("signup_date", "date"),
)
PRODUCTS = _entity(
    "products",
    ("product_id",),
    ("product_id", "string"),
    ("sku", "string"),
    ("name", "string"),
    ("category", "string"),
    ("brand", "string"),
    ("list_price", "decimal"),
    ("unit_cost", "decimal"),
)
STORES = _entity(
    "stores",
    ("store_id",),
    ("store_id", "string"),
    ("name", "string"),
    ("city", "string"),
    ("region", "string"),
    ("opened_on", "date"),
)
EMPLOYEES = _entity(
    "employees",
    ("employee_id",),
    ("employee_id", "string"),
    ("store_id", "string"),
    ("full_name", "string"),
    ("role", "string"),
    ("hired_on", "date"),
)
PAYMENTS = _entity(
    "payments",
    ("payment_id",),
    ("payment_id", "string"),
    ("order_id", "string"),
    ("method", "string"),
    ("status", "string"),
    ("amount", "decimal"),
    ("attempt", "int"),
    ("paid_at", "timestamp"),
)
SHIPMENTS = _entity(
    "shipments",
    ("shipment_id",),
    ("shipment_id", "string"),
    ("order_id", "string"),
    ("carrier", "string"),
    ("service_level", "string"),
    ("shipped_at", "timestamp"),
    ("promised_on", "date"),
    ("delivered_at", "timestamp"),
    ("status", "string"),
    ("damaged", "bool"),
    ("cost", "decimal"),
)
INVENTORY = _entity(
    "inventory",
    ("store_id", "product_id", "transaction_date"),
    ("store_id", "string"),
    ("product_id", "string"),
    ("on_hand", "int"),
    ("reorder_point", "int"),
    ("received_qty", "int"),
    ("damaged_qty", "int"),
)

ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        ORDERS,
        ORDER_ITEMS,
        CUSTOMERS,
        PRODUCTS,
        STORES,
        EMPLOYEES,
        PAYMENTS,
        SHIPMENTS,
        INVENTORY,
    )
}
DIMENSIONS = frozenset({"customers", "products", "stores", "employees"})

# Columns the raw layer adds to what landed.
PARTITION_COLUMN = "_partition_date"
LINEAGE_COLUMNS = ("_extra", "_source_file", "_source_line", "_ingested_at", PARTITION_COLUMN)


def entity(name: str) -> Entity:
    try:
        return ENTITIES[name]
    except KeyError:
        raise ValueError(f"unknown entity {name!r}; expected one of {sorted(ENTITIES)}") from None
