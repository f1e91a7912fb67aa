"""Row-level fault injection on fact tables: invalid rows and exact duplicates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: Which invalid-row reasons each fact entity can receive (one reason per bad row).
BAD_REASONS: dict[str, tuple[str, ...]] = {
    "orders": ("null_key", "partition_mismatch", "impossible_date"),
    "order_items": (
        "null_key",
        "negative_quantity",
        "unknown_product",
        "line_amount_mismatch",
        "partition_mismatch",
    ),
    "payments": ("null_key", "partition_mismatch", "impossible_date"),
    "shipments": ("null_key", "partition_mismatch", "impossible_date"),
    "inventory": ("null_key", "unknown_product", "partition_mismatch"),
}
#: The column a ``null_key`` bad row nulls.
NULL_KEY_COLUMN = {
    "orders": "order_id",
    "order_items": "order_id",
    "payments": "payment_id",
    "shipments": "shipment_id",
    "inventory": "product_id",
}
#: The timestamp an ``impossible_date`` bad row breaks (e.g. ``2025-02-30T10:00:00Z``).
IMPOSSIBLE_DATE_COLUMN = {"orders": "ordered_at", "payments": "paid_at", "shipments": "shipped_at"}
UNKNOWN_PRODUCT_ID = "P9999"
_IMPOSSIBLE_MONTH_DAYS = ("02-30", "02-31", "04-31", "06-31", "09-31", "11-31")
_CENT = Decimal("0.01")


class _Columns(dict):
    """Columns of a table, combined into single arrays on first access."""

    def __init__(self, table: pa.Table) -> None:
        super().__init__()
        self._table = table

    def __missing__(self, name: str) -> pa.Array:
        value = self[name] = self._table.column(name).combine_chunks()
        return value

    def table(self) -> pa.Table:
        table = self._table
        for name, column in self.items():
            index = table.schema.get_field_index(name)
            table = table.set_column(index, table.schema.field(name), column)
        return table


def _replace(column: pa.Array, mask: np.ndarray, values: list) -> pa.Array:
    return pc.replace_with_mask(column, pa.array(mask), pa.array(values, column.type))


def inject_bad_rows(
    entity: str,
    table: pa.Table,
    rate: float,
    rng: np.random.Generator,
    partition_date: date,
) -> tuple[pa.Table, dict[str, int]]:
    """Make a share ``rate`` of the rows invalid, each for one of the entity's
    ``BAD_REASONS``. Returns the table and the rows per ``bad_rows:<reason>``."""
    n = table.num_rows
    n_bad = int(rng.binomial(n, rate)) if rate > 0 and n else 0
    if not n_bad:
        return table, {}
    bad_rows = np.sort(rng.choice(n, n_bad, replace=False))
    reasons = BAD_REASONS[entity]
    reason_of_row = rng.integers(0, len(reasons), n_bad)
    columns = _Columns(table)
    counts: dict[str, int] = {}
    for i, reason in enumerate(reasons):
        rows = bad_rows[reason_of_row == i]
        if not len(rows):
            continue
        counts[f"bad_rows:{reason}"] = len(rows)
        mask = np.zeros(n, bool)
        mask[rows] = True
        _BREAK[reason](_BadRows(entity, columns, rows, mask, rng, partition_date))
    return columns.table(), counts


@dataclass(frozen=True)
class _BadRows:
    """The rows to break for one reason, and what breaking them needs."""

    entity: str
    columns: _Columns
    rows: np.ndarray  # positions, ascending
    mask: np.ndarray  # the same rows as a mask over the table
    rng: np.random.Generator
    partition_date: date


def _null_key(bad: _BadRows) -> None:
    name = NULL_KEY_COLUMN[bad.entity]
    column = bad.columns[name]
    bad.columns[name] = pc.if_else(pa.array(bad.mask), pa.scalar(None, column.type), column)


def _partition_mismatch(bad: _BadRows) -> None:
    offsets = bad.rng.choice(np.array([-3, -2, -1, 1, 2]), len(bad.rows))
    values = [(bad.partition_date + timedelta(days=int(o))).isoformat() for o in offsets]
    bad.columns["transaction_date"] = _replace(bad.columns["transaction_date"], bad.mask, values)


def _impossible_date(bad: _BadRows) -> None:
    name = IMPOSSIBLE_DATE_COLUMN[bad.entity]
    month_day = bad.rng.integers(0, len(_IMPOSSIBLE_MONTH_DAYS), len(bad.rows))
    values = [
        f"{value[:4]}-{_IMPOSSIBLE_MONTH_DAYS[i]}{value[10:]}"
        for value, i in zip(bad.columns[name].take(bad.rows).to_pylist(), month_day, strict=True)
    ]
    bad.columns[name] = _replace(bad.columns[name], bad.mask, values)


def _unknown_product(bad: _BadRows) -> None:
    values = [UNKNOWN_PRODUCT_ID] * len(bad.rows)
    bad.columns["product_id"] = _replace(bad.columns["product_id"], bad.mask, values)


def _negative_quantity(bad: _BadRows) -> None:
    """quantity <= 0; line_amount stays consistent so the row has one reason only."""
    columns = bad.columns
    quantity = bad.rng.integers(-3, 1, len(bad.rows))
    price = columns["unit_price"].take(bad.rows).to_pylist()
    discount = columns["discount_rate"].take(bad.rows).to_pylist()
    amounts = [
        (Decimal(int(q)) * p * (1 - d)).quantize(_CENT, rounding=ROUND_HALF_UP)
        for q, p, d in zip(quantity, price, discount, strict=True)
    ]
    columns["quantity"] = _replace(columns["quantity"], bad.mask, [int(q) for q in quantity])
    columns["line_amount"] = _replace(columns["line_amount"], bad.mask, amounts)


def _line_amount_mismatch(bad: _BadRows) -> None:
    """The amount off by 2..499 cents, up or down (up when down would get near 0)."""
    columns, rng = bad.columns, bad.rng
    cents = rng.integers(2, 500, len(bad.rows))
    amounts = columns["line_amount"].take(bad.rows).to_pylist()
    # one draw per row, whatever the amount
    changed = [
        amount + Decimal(int(c)) * _CENT if (rng.random() < 0.5 or amount < Decimal(6)) else
        amount - Decimal(int(c)) * _CENT
        for amount, c in zip(amounts, cents, strict=True)
    ]  # fmt: skip
    columns["line_amount"] = _replace(columns["line_amount"], bad.mask, changed)


_BREAK = {
    "null_key": _null_key,
    "partition_mismatch": _partition_mismatch,
    "impossible_date": _impossible_date,
    "unknown_product": _unknown_product,
    "negative_quantity": _negative_quantity,
    "line_amount_mismatch": _line_amount_mismatch,
}


def inject_duplicates(
    table: pa.Table, rate: float, rng: np.random.Generator
) -> tuple[pa.Table, int]:
    """Repeat a share of rows exactly. The copies come at the end of the file, in
    random order (as when an export replays part of its output)."""
    n = table.num_rows
    n_copies = int(rng.binomial(n, rate)) if rate > 0 and n else 0
    if not n_copies:
        return table, 0
    copied = rng.choice(n, n_copies, replace=False)
    return pa.concat_tables([table, table.take(pa.array(copied))]).combine_chunks(), n_copies
