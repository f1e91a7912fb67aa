"""Row-level fault injection on fact tables: invalid rows and exact duplicates."""

from __future__ import annotations

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
        t = self._table
        for name, col in self.items():
            t = t.set_column(t.schema.get_field_index(name), t.schema.field(name), col)
        return t


def _replace(col: pa.Array, mask: np.ndarray, values: list) -> pa.Array:
    return pc.replace_with_mask(col, pa.array(mask), pa.array(values, col.type))


def inject_bad_rows(
    entity: str,
    table: pa.Table,
    rate: float,
    rng: np.random.Generator,
    partition_date: date,
) -> tuple[pa.Table, dict[str, int]]:
    n = table.num_rows
    k = int(rng.binomial(n, rate)) if rate > 0 and n else 0
    if not k:
        return table, {}
    rows = np.sort(rng.choice(n, k, replace=False))
    reasons = BAD_REASONS[entity]
    which = rng.integers(0, len(reasons), k)
    cols = _Columns(table)
    counts: dict[str, int] = {}
    for i, reason in enumerate(reasons):
        sel = rows[which == i]
        if not len(sel):
            continue
        counts[f"bad_rows:{reason}"] = len(sel)
        mask = np.zeros(n, bool)
        mask[sel] = True
        if reason == "null_key":
            name = NULL_KEY_COLUMN[entity]
            cols[name] = pc.if_else(pa.array(mask), pa.scalar(None, cols[name].type), cols[name])
        elif reason == "partition_mismatch":
            offsets = rng.choice(np.array([-3, -2, -1, 1, 2]), len(sel))
            values = [(partition_date + timedelta(days=int(o))).isoformat() for o in offsets]
            cols["transaction_date"] = _replace(cols["transaction_date"], mask, values)
        elif reason == "impossible_date":
            name = IMPOSSIBLE_DATE_COLUMN[entity]
            bad = rng.integers(0, len(_IMPOSSIBLE_MONTH_DAYS), len(sel))
            values = [
                f"{v[:4]}-{_IMPOSSIBLE_MONTH_DAYS[b]}{v[10:]}"
                for v, b in zip(cols[name].take(sel).to_pylist(), bad, strict=True)
            ]
            cols[name] = _replace(cols[name], mask, values)
        elif reason == "unknown_product":
            cols["product_id"] = _replace(cols["product_id"], mask, [UNKNOWN_PRODUCT_ID] * len(sel))
        elif reason == "negative_quantity":
            # quantity <= 0; line_amount stays consistent so the row has one reason only
            qty = rng.integers(-3, 1, len(sel))
            price = cols["unit_price"].take(sel).to_pylist()
            disc = cols["discount_rate"].take(sel).to_pylist()
            amounts = [
                (Decimal(int(q)) * p * (1 - d)).quantize(_CENT, rounding=ROUND_HALF_UP)
                for q, p, d in zip(qty, price, disc, strict=True)
            ]
            cols["quantity"] = _replace(cols["quantity"], mask, [int(q) for q in qty])
            cols["line_amount"] = _replace(cols["line_amount"], mask, amounts)
        elif reason == "line_amount_mismatch":
            delta = rng.integers(2, 500, len(sel))
            amounts = [
                a + Decimal(int(c)) * _CENT if (rng.random() < 0.5 or a < Decimal(6)) else
                a - Decimal(int(c)) * _CENT
                for a, c in zip(cols["line_amount"].take(sel).to_pylist(), delta, strict=True)
            ]  # fmt: skip
            cols["line_amount"] = _replace(cols["line_amount"], mask, amounts)
        else:  # pragma: no cover - guarded by BAD_REASONS
            raise ValueError(reason)
    return cols.table(), counts


def inject_duplicates(
    table: pa.Table, rate: float, rng: np.random.Generator
) -> tuple[pa.Table, int]:
    """Repeat a share of rows exactly. The copies come at the end of the file, in
    random order (as when an export replays part of its output)."""
    n = table.num_rows
    k = int(rng.binomial(n, rate)) if rate > 0 and n else 0
    if not k:
        return table, 0
    dup = rng.choice(n, k, replace=False)
    return pa.concat_tables([table, table.take(pa.array(dup))]).combine_chunks(), k
