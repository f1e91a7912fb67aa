"""The contract's metric definitions computed straight from the landing files.

Independent of the platform: plain Python over the JSON lines, exact Decimal money,
no DuckDB, no dbt, no code from retail_platform. The marts must equal these numbers.
Valid only for landings without invalid rows (the rejects are tested separately).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

KEYS = {
    "orders": ("order_id",),
    "order_items": ("order_id", "line_no"),
    "customers": ("customer_id",),
    "products": ("product_id",),
    "stores": ("store_id",),
    "employees": ("employee_id",),
    "payments": ("payment_id",),
    "shipments": ("shipment_id",),
    "inventory": ("store_id", "product_id", "transaction_date"),
}
CENT = Decimal("0.01")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def latest_rows(root: Path) -> dict[str, list[dict]]:
    """Every entity's rows, newest updated_at per natural key (exact duplicates collapse)."""
    newest: dict[str, dict[tuple, dict]] = defaultdict(dict)
    for entity, key in KEYS.items():
        for path in sorted((root / entity).glob("transaction_date=*/*.jsonl")):
            for line in path.read_text().splitlines():
                row = json.loads(line, parse_float=Decimal)
                row_key = tuple(row[k] for k in key)
                kept = newest[entity].get(row_key)
                if kept is None or row["updated_at"] > kept["updated_at"]:
                    newest[entity][row_key] = row
    return {entity: list(rows.values()) for entity, rows in newest.items()}


@dataclass
class Order:
    order_id: str
    day: date
    store_id: str
    customer_id: str
    employee_id: str | None
    status: str
    units: int = 0
    gross: Decimal = Decimal(0)
    net: Decimal = Decimal(0)

    @property
    def is_sale(self) -> bool:
        return self.status in ("completed", "returned")

    @property
    def net_revenue(self) -> Decimal:
        return self.net if self.status == "completed" else Decimal(0)


class ContractModel:
    def __init__(self, landing_root: Path) -> None:
        self.rows = latest_rows(landing_root)
        self.orders = {
            o["order_id"]: Order(
                o["order_id"], date.fromisoformat(o["transaction_date"]), o["store_id"],
                o["customer_id"], o["employee_id"], o["status"],
            )
            for o in self.rows["orders"]
        }  # fmt: skip
        self.lines = []
        for item in self.rows["order_items"]:
            quantity, price = int(item["quantity"]), Decimal(str(item["unit_price"]))
            rate = Decimal(str(item["discount_rate"]))
            line = {
                "order": self.orders[item["order_id"]],
                "product_id": item["product_id"],
                "quantity": quantity,
                "gross": money(quantity * price),
                "net": money(quantity * price * (1 - rate)),
            }
            self.lines.append(line)
            line["order"].units += quantity
            line["order"].gross += line["gross"]
            line["order"].net += line["net"]

    def daily_sales(self) -> dict[tuple[date, str], dict]:
        result: dict[tuple[date, str], dict] = {}
        for order in self.orders.values():
            row = result.setdefault(
                (order.day, order.store_id),
                {"orders": 0, "customers": set(), "items_sold": 0, "gross_revenue": Decimal(0),
                 "net_revenue": Decimal(0), "sales_net": Decimal(0)},
            )  # fmt: skip
            if order.is_sale:
                row["orders"] += 1
                row["customers"].add(order.customer_id)
                row["items_sold"] += order.units
                row["gross_revenue"] += order.gross
                row["sales_net"] += order.net
            row["net_revenue"] += order.net_revenue
        for row in result.values():
            row["customers"] = len(row["customers"])
            row["avg_order_value"] = (
                money(row["sales_net"] / row["orders"]) if row["orders"] else None
            )
        return result

    def store_regions(self) -> dict[str, str]:
        return {s["store_id"]: s["region"] for s in self.rows["stores"]}

    def customer_rfm(self) -> dict[str, dict]:
        sales = [o for o in self.orders.values() if o.is_sale]
        as_of = max(o.day for o in sales)
        per: dict[str, dict] = {}
        for order in sales:
            row = per.setdefault(
                order.customer_id, {"last": order.day, "frequency": 0, "monetary": Decimal(0)}
            )
            row["last"] = max(row["last"], order.day)
            row["frequency"] += 1
            row["monetary"] += order.net_revenue
        for row in per.values():
            row["recency_days"] = (as_of - row["last"]).days
        ids = sorted(per)
        _ntile(per, sorted(ids, key=lambda c: (-per[c]["recency_days"], c)), "r_score")
        _ntile(per, sorted(ids, key=lambda c: (per[c]["frequency"], c)), "f_score")
        _ntile(per, sorted(ids, key=lambda c: (per[c]["monetary"], c)), "m_score")
        return per

    def churn_rows(self, cutoff: date, label_days: int) -> dict[str, dict]:
        """Per customer with a sale before ``cutoff``: features from those sales only, and
        churned = no sale in [cutoff, cutoff + label_days)."""
        sales = [o for o in self.orders.values() if o.is_sale]
        before: dict[str, list[Order]] = defaultdict(list)
        for order in sales:
            if order.day < cutoff:
                before[order.customer_id].append(order)
        label_end = cutoff + timedelta(days=label_days)
        bought_again = {o.customer_id for o in sales if cutoff <= o.day < label_end}
        result = {}
        for customer, orders in before.items():
            days = [o.day for o in orders]
            result[customer] = {
                "recency_days": (cutoff - max(days)).days,
                "frequency": len(orders),
                "monetary": sum((o.net_revenue for o in orders), Decimal(0)),
                "tenure_days": (cutoff - min(days)).days,
                "orders_last_30_days": sum(d >= cutoff - timedelta(days=30) for d in days),
                "return_rate": sum(o.status == "returned" for o in orders) / len(orders),
                "churned": int(customer not in bought_again),
            }
        return result

    def product_sales(self, period: Callable[[date], date]) -> dict[tuple[date, str], dict]:
        """Units, net revenue and distinct orders of sales per period(order day) and product."""
        result: dict[tuple[date, str], dict] = {}
        for line in self.lines:
            order = line["order"]
            if not order.is_sale:
                continue
            row = result.setdefault(
                (period(order.day), line["product_id"]),
                {"units": 0, "net_revenue": Decimal(0), "order_ids": set()},
            )
            row["units"] += line["quantity"]
            row["order_ids"].add(order.order_id)
            if order.status == "completed":
                row["net_revenue"] += line["net"]
        for row in result.values():
            row["orders"] = len(row.pop("order_ids"))
        return result

    def top_products_monthly(self) -> dict[tuple[date, str], dict]:
        result = self.product_sales(lambda day: day.replace(day=1))
        by_month = defaultdict(list)
        for (month, product), row in result.items():
            by_month[month].append((row["net_revenue"], product))
        for month, entries in by_month.items():
            for revenue, product in entries:
                result[(month, product)]["rank_in_month"] = 1 + sum(
                    1 for other, _ in entries if other > revenue
                )
        return result

    def payment_mix(self) -> dict[tuple[date, str], dict]:
        result: dict[tuple[date, str], dict] = {}
        for p in self.rows["payments"]:
            row = result.setdefault(
                (date.fromisoformat(p["transaction_date"]), p["method"]),
                {"payments": 0, "amount": Decimal(0), "failed": 0},
            )
            row["payments"] += 1
            row["failed"] += p["status"] == "failed"
            if p["status"] == "succeeded":
                row["amount"] += Decimal(str(p["amount"]))
        for row in result.values():
            row["failure_rate"] = row["failed"] / row["payments"]
        return result

    def shipping_performance(self) -> dict[str, dict]:
        result: dict[str, dict] = {}
        for s in self.rows["shipments"]:
            row = result.setdefault(
                s["carrier"], {"shipments": 0, "delivered": 0, "on_time": 0, "delays": [],
                               "damaged": 0, "lost": 0},
            )  # fmt: skip
            row["shipments"] += 1
            row["damaged"] += s["damaged"] is True
            row["lost"] += s["status"] == "lost"
            if s["delivered_at"] is not None:
                delivered = datetime.fromisoformat(s["delivered_at"].replace("Z", "")).date()
                delay = (delivered - date.fromisoformat(s["promised_on"])).days
                row["delivered"] += 1
                row["on_time"] += delay <= 0
                row["delays"].append(max(delay, 0))
        for row in result.values():
            delivered = row["delivered"]
            row["on_time_rate"] = row["on_time"] / delivered if delivered else None
            row["avg_delay_days"] = sum(row["delays"]) / delivered if delivered else None
            row["damage_rate"] = row["damaged"] / row["shipments"]
            row["loss_rate"] = row["lost"] / row["shipments"]
        return result

    def inventory_alerts(self) -> dict[tuple[str, str], dict]:
        inventory = self.rows["inventory"]
        as_of = max(date.fromisoformat(r["transaction_date"]) for r in inventory)
        sold: dict[tuple[str, str], int] = defaultdict(int)
        for line in self.lines:
            order = line["order"]
            if order.is_sale and as_of - timedelta(days=28) < order.day <= as_of:
                sold[(order.store_id, line["product_id"])] += line["quantity"]
        result = {}
        for r in inventory:
            if date.fromisoformat(r["transaction_date"]) != as_of:
                continue
            key = (r["store_id"], r["product_id"])
            average = sold[key] / 28 if key in sold else None
            on_hand = int(r["on_hand"])
            result[key] = {
                "on_hand": on_hand,
                "reorder_point": int(r["reorder_point"]),
                "below_reorder_point": on_hand < int(r["reorder_point"]),
                "days_of_cover": on_hand / average if average else None,
            }
        return result

    def employee_performance(self) -> dict[str, dict]:
        result: dict[str, dict] = {}
        for order in self.orders.values():
            if order.employee_id is None:
                continue
            row = result.setdefault(order.employee_id, {"orders": 0, "net_revenue": Decimal(0)})
            row["orders"] += order.is_sale
            row["net_revenue"] += order.net_revenue
        return result


def _ntile(per: dict[str, dict], ordered: list[str], field: str, buckets: int = 5) -> None:
    """SQL NTILE: the first (n mod buckets) groups get one row more."""
    size, extra = divmod(len(ordered), buckets)
    index = 0
    for bucket in range(1, buckets + 1):
        for _ in range(size + (1 if bucket <= extra else 0)):
            per[ordered[index]][field] = bucket
            index += 1
