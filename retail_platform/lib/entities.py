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

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

LogicalType = Literal["string", "int", "decimal", "rate", "date", "timestamp", "bool"]
#: name, type, what the column holds (docs/contract.md)
Column = tuple[str, LogicalType, str]


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
    #: What each column holds (docs/contract.md): the raw asset's column descriptions.
    descriptions: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        unknown = self.optional - set(self.column_names)
        if unknown:
            raise ValueError(f"{self.name}: optional column(s) {sorted(unknown)} not in columns")
        if set(self.descriptions) != set(self.column_names):
            raise ValueError(f"{self.name}: every column needs one description")

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

    def column_description(self, name: str) -> str:
        """What the column holds, then what the contract's other facts make of it: its
        part in the natural key, the entity it must name, whether a file may omit it."""
        parts = [self.descriptions[name]]
        if self.natural_key == (name,):
            parts.append("The natural key.")
        elif name in self.natural_key:
            parts.append(f"Part of the natural key ({', '.join(self.natural_key)}).")
        for referenced, column in self.references:
            if column == name:
                parts.append(
                    f"Must name one of the {referenced} with a valid version, "
                    f"else the row is rejected ({unknown_reason(column)})."
                )
        if name in self.optional:
            parts.append("Optional: a file may leave the column out (then null).")
        return " ".join(parts)


def _entity(
    name: str,
    key: tuple[str, ...],
    *columns: Column,
    optional: tuple[str, ...] = (),
    references: tuple[tuple[str, str], ...] = (),
) -> Entity:
    common: tuple[Column, ...] = (
        (
            "transaction_date",
            "date",
            "The day the row belongs to: its landing folder's date, which it must equal "
            "(else partition_mismatch).",
        ),
        (
            "updated_at",
            "timestamp",
            "When the source system last changed the row (UTC, ISO 8601): for the same "
            "natural key the newest valid version wins.",
        ),
    )
    every = tuple(columns) + common
    return Entity(
        name=name,
        natural_key=key,
        columns=tuple((column, kind) for column, kind, _ in every),
        optional=frozenset(optional),
        references=references,
        descriptions={column: text for column, _, text in every},
    )


def unknown_reason(column: str) -> str:
    """The reject reason of a row whose ``column`` names a key that never landed."""
    return f"unknown_{column.removesuffix('_id')}"


ORDERS = _entity(
    "orders",
    ("order_id",),
    ("order_id", "string", "The order."),
    ("customer_id", "string", "Customer who ordered."),
    ("store_id", "string", "Store that sold or fulfilled the order."),
    ("employee_id", "string", "Sales associate of an in-store order; empty online."),
    ("channel", "string", "`in_store` or `online`."),
    ("status", "string", "`completed`, `cancelled` or `returned`; cancelled orders are no sales."),
    ("ordered_at", "timestamp", "When the order was placed (UTC, ISO 8601)."),
    references=(("customers", "customer_id"), ("stores", "store_id")),
)
ORDER_ITEMS = _entity(
    "order_items",
    ("order_id", "line_no"),
    ("order_id", "string", "Order of the line; the line counts on its order's day."),
    ("line_no", "int", "Line number within the order."),
    ("product_id", "string", "Product sold."),
    ("quantity", "int", "Units sold: an integer > 0."),
    ("unit_price", "decimal", "Price of one unit: >= 0, 2 decimals."),
    ("discount_rate", "rate", "Discount as a fraction: 0 <= rate < 1."),
    # not in the contract's required columns (optional below)
    (
        "line_amount",
        "decimal",
        "The source's round(quantity x unit_price x (1 - discount_rate), 2): more than a "
        "cent off is rejected (line_amount_mismatch); computed when absent.",
    ),
    optional=("line_amount",),
    references=(("products", "product_id"),),
)
CUSTOMERS = _entity(
    "customers",
    ("customer_id",),
    ("customer_id", "string", "The customer."),
    ("first_name", "string", "First name (PII)."),
    ("last_name", "string", "Last name (PII)."),
    ("email", "string", "Email address (PII)."),
    ("city", "string", "City."),
    ("region", "string", "Region."),
    ("loyalty_tier", "string", "`bronze`, `silver` or `gold`."),
    ("signup_date", "date", "Day the customer signed up."),
)
PRODUCTS = _entity(
    "products",
    ("product_id",),
    ("product_id", "string", "The product."),
    ("sku", "string", "Stock keeping unit."),
    ("name", "string", "Product name."),
    ("category", "string", "Category."),
    ("brand", "string", "Brand."),
    ("list_price", "decimal", "List price: >= 0."),
    ("unit_cost", "decimal", "Cost of one unit: >= 0."),
)
STORES = _entity(
    "stores",
    ("store_id",),
    ("store_id", "string", "The store."),
    ("name", "string", "Store name."),
    ("city", "string", "City."),
    ("region", "string", "Region."),
    ("opened_on", "date", "Day the store opened."),
)
EMPLOYEES = _entity(
    "employees",
    ("employee_id",),
    ("employee_id", "string", "The employee."),
    ("store_id", "string", "Store the employee works at."),
    ("full_name", "string", "Full name (PII)."),
    ("role", "string", "Job role."),
    ("hired_on", "date", "Day the employee was hired."),
    references=(("stores", "store_id"),),
)
PAYMENTS = _entity(
    "payments",
    ("payment_id",),
    ("payment_id", "string", "The payment attempt or refund."),
    ("order_id", "string", "Order paid."),
    ("method", "string", "`card`, `cash`, `bank_transfer` or `wallet`."),
    ("status", "string", "`succeeded`, `failed` or `refunded`."),
    ("amount", "decimal", "Amount: >= 0, exact decimal."),
    ("attempt", "int", "Attempt number, from 1."),
    ("paid_at", "timestamp", "When the payment was made (UTC, ISO 8601)."),
    references=(("orders", "order_id"),),
)
SHIPMENTS = _entity(
    "shipments",
    ("shipment_id",),
    ("shipment_id", "string", "The shipment."),
    ("order_id", "string", "Order shipped."),
    ("carrier", "string", "Carrier."),
    ("service_level", "string", "Service level."),
    ("shipped_at", "timestamp", "When the shipment left (UTC, ISO 8601)."),
    ("promised_on", "date", "Day delivery was promised."),
    (
        "delivered_at",
        "timestamp",
        "When it was delivered (UTC, ISO 8601), not before shipped_at; empty until delivered.",
    ),
    ("status", "string", "`delivered`, `in_transit`, `lost` or `returned`."),
    ("damaged", "bool", "Arrived damaged: true or false."),
    ("cost", "decimal", "Shipping cost: >= 0."),
    references=(("orders", "order_id"),),
)
INVENTORY = _entity(
    "inventory",
    ("store_id", "product_id", "transaction_date"),
    ("store_id", "string", "Store holding the stock."),
    ("product_id", "string", "Product in stock."),
    ("on_hand", "int", "Units in stock at the end of the day: >= 0."),
    ("reorder_point", "int", "Stock level at which to reorder: >= 0."),
    ("received_qty", "int", "Units received that day: >= 0."),
    ("damaged_qty", "int", "Units found damaged that day: >= 0."),
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

# Columns the raw layer adds to what landed, and what they hold.
PARTITION_COLUMN = "_partition_date"
LINEAGE_DESCRIPTIONS: dict[str, str] = {
    "_extra": "The row's fields the contract does not list, as a JSON object (null if none).",
    "_source_file": "Landing path of the file the row came from.",
    "_source_line": "Line of the row in that file, from 1 (a CSV header is line 1).",
    "_ingested_at": "When the raw layer loaded the file (UTC).",
    PARTITION_COLUMN: "Midnight of the landing folder's date, zone-less: the partition, even "
    "when the row's own transaction_date disagrees.",
}
LINEAGE_COLUMNS = tuple(LINEAGE_DESCRIPTIONS)


def entity(name: str) -> Entity:
    try:
        return ENTITIES[name]
    except KeyError:
        raise ValueError(f"unknown entity {name!r}; expected one of {sorted(ENTITIES)}") from None
