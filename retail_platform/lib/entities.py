"""The landing contract in code: every entity's columns, types and natural key.

This mirrors ``docs/contract.md`` (and ``sql/macros/contract.sql`` mirrors it). The raw
layer keeps every value as the text that landed (so CSV and JSONL land identically); the
types below are what the silver layer casts to and validates against.

A column is required unless it is listed in ``optional``: a file must have every
required column (else it is quarantined) and may omit an optional one, which then lands
as null (raw tables always have every column). Required is about the file's columns, not
the values: a required column's value may still be null where the contract allows it
(``shipments.delivered_at``), and silver decides which nulls a row may have.
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
    #: Columns a file may omit (not in the contract's required columns); the rest are required.
    optional: frozenset[str] = frozenset()
    #: (entity, column): a row is valid only if that entity has a valid version (any
    #: partition) with the row's value of the column as its key, else it is rejected as
    #: unknown_<column without _id> (sql/macros/validated_rows.sql known_key_checks).
    references: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        unknown = self.optional - set(self.column_names)
        if unknown:
            raise ValueError(f"{self.name}: optional column(s) {sorted(unknown)} not in columns")

    @property
    def column_names(self) -> list[str]:
        """Every column, in contract order: the raw table's columns (before lineage)."""
        return [name for name, _ in self.columns]

    @property
    def required_column_names(self) -> list[str]:
        """The columns every landing file of the entity must have."""
        return [name for name in self.column_names if name not in self.optional]

    @property
    def is_dimension(self) -> bool:
        return self.name in DIMENSIONS


def _entity(
    name: str,
    key: tuple[str, ...],
    *columns: tuple[str, LogicalType],
    optional: tuple[str, ...] = (),
    references: tuple[tuple[str, str], ...] = (),
) -> Entity:
    common: tuple[tuple[str, LogicalType], ...] = (
        ("transaction_date", "date"),
        ("updated_at", "timestamp"),
    )
    return Entity(
        name=name,
        natural_key=key,
        columns=tuple(columns) + common,
        optional=frozenset(optional),
        references=references,
    )


def unknown_reason(column: str) -> str:
    """The reject reason of a row whose ``column`` names a key that never landed."""
    return f"unknown_{column.removesuffix('_id')}"


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
    references=(("customers", "customer_id"), ("stores", "store_id")),
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
    # The source's own round(quantity x unit_price x (1 - discount_rate), 2): not in the
    # contract's required columns. Silver rejects a present one that differs by more than
    # a cent (line_amount_mismatch) and computes an absent one.
    ("line_amount", "decimal"),
    optional=("line_amount",),
    references=(("products", "product_id"),),
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
    references=(("stores", "store_id"),),
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
    references=(("orders", "order_id"),),
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
    references=(("orders", "order_id"),),
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
    references=(("products", "product_id"), ("stores", "store_id")),
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
