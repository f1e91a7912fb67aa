"""The contract's metric definitions computed straight from the landing files.

Independent of the platform: plain Python over the JSON lines, exact Decimal money,
no DuckDB, no dbt, no code from retail_platform. The marts must equal these numbers.

Rows are validated as the contract says before versions compare: the required columns,
values that parse as their type, the row's ``transaction_date`` equal to its folder's,
the value rules of the table (quantity > 0, 0 <= discount_rate < 1, ...), and a valid
version of every customer, product, store or order the row names. The newest *valid*
version of a key wins.
"""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
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
# Columns that must hold a value (the others may be null: employee_id online, delivered_at
# in transit, line_amount when the source does not send it), and typed columns.
REQUIRED = {
    "orders": ("customer_id", "store_id", "channel", "status", "ordered_at"),
    "order_items": ("product_id", "quantity", "unit_price", "discount_rate"),
    "payments": ("order_id", "method", "status", "amount", "attempt"),
    "shipments": ("order_id", "carrier", "status", "shipped_at", "damaged", "cost"),
    "inventory": ("on_hand", "reorder_point", "received_qty", "damaged_qty"),
}
TIMESTAMPS = ("ordered_at", "paid_at", "shipped_at", "delivered_at", "updated_at")
DATES = ("transaction_date", "promised_on", "signup_date", "opened_on", "hired_on", "birth_date")
GENDERS = {None, "female", "male", "other"}  # a customer's gender: null when not given
OLDEST_BIRTH_DATE = date(1900, 1, 1)
AGE_BANDS = ((18, "18-24"), (25, "25-34"), (35, "35-44"), (45, "45-54"), (55, "55-64"), (65, "65+"))
ENUMS = {
    "orders": {"channel": {"in_store", "online"}, "status": {"completed", "cancelled", "returned"}},
    "payments": {"method": {"card", "cash", "bank_transfer", "wallet"},
                 "status": {"succeeded", "failed", "refunded"}},
    "shipments": {"status": {"delivered", "in_transit", "lost", "returned"}},
}  # fmt: skip
# The keys a row must name a valid version of; referenced entities are validated first.
REFERENCES = {
    "orders": (("customers", "customer_id"), ("stores", "store_id")),
    "order_items": (("products", "product_id"),),
    "employees": (("stores", "store_id"),),
    "payments": (("orders", "order_id"),),
    "shipments": (("orders", "order_id"),),
    "inventory": (("products", "product_id"), ("stores", "store_id")),
}
ORDER = ("stores", "customers", "products", "employees", "orders", "order_items", "payments",
         "shipments", "inventory")  # fmt: skip


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def landed_rows(root: Path) -> dict[str, list[tuple[date, dict]]]:
    """Every landed row of every entity with its folder's date."""
    result: dict[str, list[tuple[date, dict]]] = {}
    for entity in KEYS:
        rows = result[entity] = []
        for path in sorted((root / entity).glob("transaction_date=*/*.jsonl")):
            folder = date.fromisoformat(path.parent.name.removeprefix("transaction_date="))
            for line in path.read_text().splitlines():
                rows.append((folder, json.loads(line, parse_float=Decimal)))
    return result


def _parses(value, kind: Callable) -> bool:
    try:
        kind(value)
    except (ValueError, TypeError, InvalidOperation):
        return False
    return True


def _timestamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _valid_values(entity: str, folder: date, row: dict) -> bool:
    """The row's own checks: everything but a payment's or shipment's order."""
    if any(row.get(k) is None for k in KEYS[entity]) or row.get("updated_at") is None:
        return False
    if any(row.get(c) is None for c in REQUIRED.get(entity, ())):
        return False
    for column in TIMESTAMPS:
        if row.get(column) is not None and not _parses(row[column], _timestamp):
            return False
    for column in DATES:
        if row.get(column) is not None and not _parses(row[column], date.fromisoformat):
            return False
    if row.get("transaction_date") is None or date.fromisoformat(row["transaction_date"]) != folder:
        return False
    if any(row[c] not in allowed for c, allowed in ENUMS.get(entity, {}).items()):
        return False
    if entity == "customers" and not _plausible_demographics(row):
        return False
    if entity == "order_items":
        quantity, price = int(row["quantity"]), Decimal(str(row["unit_price"]))
        rate = Decimal(str(row["discount_rate"]))
        if quantity <= 0 or price < 0 or not 0 <= rate < 1:
            return False
        amount = row.get("line_amount")
        formula = money(quantity * price * (1 - rate))
        if amount is not None and abs(Decimal(str(amount)) - formula) > CENT:
            return False
    quantities = ("on_hand", "reorder_point", "received_qty", "damaged_qty")
    return entity != "inventory" or all(int(row[c]) >= 0 for c in quantities)


def _plausible_demographics(customer: dict) -> bool:
    """A customer's gender is one of GENDERS; a birth date is neither after the row's day
    nor before 1900 (both optional: a file may leave them out)."""
    if customer.get("gender") not in GENDERS:
        return False
    born = customer.get("birth_date")
    day = date.fromisoformat(customer["transaction_date"])
    return born is None or OLDEST_BIRTH_DATE <= date.fromisoformat(born) <= day


def age_band(born: str | None, on: date) -> str:
    """Whole years on ``on`` (a birthday adds one), banded; 'unknown' with no birth date."""
    if born is None:
        return "unknown"
    birth = date.fromisoformat(born)
    age = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    band = "under_18"
    for youngest, name in AGE_BANDS:
        if age >= youngest:
            band = name
    return band


def latest_rows(root: Path) -> dict[str, list[dict]]:
    """Every entity's valid rows, newest updated_at per natural key (exact duplicates
    collapse). A row that names a customer, product, store or order is valid only if that
    key has a valid version (any folder)."""
    landed = landed_rows(root)
    newest: dict[str, dict[tuple, dict]] = defaultdict(dict)
    for entity in ORDER:
        for folder, row in landed[entity]:
            if not _valid_values(entity, folder, row):
                continue
            if any(
                (row[column],) not in newest[other] for other, column in REFERENCES.get(entity, ())
            ):
                continue
            row_key = tuple(row[k] for k in KEYS[entity])
            kept = newest[entity].get(row_key)
            if kept is None or row["updated_at"] > kept["updated_at"]:
                newest[entity][row_key] = row
    return {entity: list(newest[entity].values()) for entity in KEYS}


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
    line_count: int = 0

    @property
    def is_incomplete(self) -> bool:
        """None of its lines is valid: no sale (contract)."""
        return self.line_count == 0

    @property
    def is_sale(self) -> bool:
        return self.status in ("completed", "returned") and not self.is_incomplete

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
            if item["order_id"] not in self.orders:  # a line of an order with no valid version
                continue
            quantity, price = int(item["quantity"]), Decimal(str(item["unit_price"]))
            rate = Decimal(str(item["discount_rate"]))
            line = {
                "order": self.orders[item["order_id"]],
                "product_id": item["product_id"],
                "quantity": quantity,
                "discount_rate": rate,
                "gross": money(quantity * price),
                "net": money(quantity * price * (1 - rate)),
            }
            self.lines.append(line)
            line["order"].units += quantity
            line["order"].line_count += 1
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
        _score(per, lambda row: -row["recency_days"], "r_score")  # fewer days score higher
        _score(per, lambda row: row["frequency"], "f_score")
        _score(per, lambda row: row["monetary"], "m_score")
        for row in per.values():
            row["segment"] = segment(row["r_score"], row["f_score"])
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

    def purchase_feedback(self) -> dict[tuple[str, str, date], int]:
        """ml/purchase_feedback: per (customer, product, day), the sales holding the product."""
        orders: dict[tuple[str, str, date], set[str]] = defaultdict(set)
        for line in self.lines:
            order = line["order"]
            if order.is_sale:
                orders[(order.customer_id, line["product_id"], order.day)].add(order.order_id)
        return {key: len(ids) for key, ids in orders.items()}

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
        """Per store and product with a valid row in the 7 days up to the newest inventory
        day: the pair's latest valid day, days of cover over the 28 days to that day."""
        inventory = self.rows["inventory"]
        newest = max(date.fromisoformat(r["transaction_date"]) for r in inventory)
        latest: dict[tuple[str, str], dict] = {}
        for r in inventory:
            day = date.fromisoformat(r["transaction_date"])
            key = (r["store_id"], r["product_id"])
            if newest - timedelta(days=7) < day and (
                key not in latest or day > date.fromisoformat(latest[key]["transaction_date"])
            ):
                latest[key] = r
        daily: dict[tuple[str, str], dict[date, int]] = defaultdict(lambda: defaultdict(int))
        for line in self.lines:
            if line["order"].is_sale:
                key = (line["order"].store_id, line["product_id"])
                daily[key][line["order"].day] += line["quantity"]
        result = {}
        for key, r in latest.items():
            as_of = date.fromisoformat(r["transaction_date"])
            sold = sum(
                units
                for day, units in daily.get(key, {}).items()
                if as_of - timedelta(days=28) < day <= as_of
            )
            average = sold / 28 if sold else None
            on_hand = int(r["on_hand"])
            result[key] = {
                "as_of_date": as_of,
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

    # The customer-value and sales-breakdown marts (docs/contract.md, "Marts of this repo").

    def customer_lifetime(self) -> dict[str, dict]:
        """Per customer with a sale: net spend over all their sales, sales orders,
        completed orders, first and last sale day."""
        per: dict[str, dict] = {}
        for order in self.orders.values():
            if not order.is_sale:
                continue
            row = per.setdefault(
                order.customer_id,
                {"net_spend": Decimal(0), "sales_net": Decimal(0), "orders": 0,
                 "completed_orders": 0, "first": order.day, "last": order.day},
            )  # fmt: skip
            row["net_spend"] += order.net_revenue
            row["sales_net"] += order.net
            row["orders"] += 1
            row["completed_orders"] += order.status == "completed"
            row["first"], row["last"] = min(row["first"], order.day), max(row["last"], order.day)
        return per

    def customer_value(self) -> dict[str, dict]:
        """Per customer with a sale: lifetime net revenue, orders, value tier (High: fewer
        than 20 % of the customers spent strictly more; Medium: fewer than 50 %; else Low;
        nothing spent: Low), buyer type (2+ completed orders: repeat; 1: one_time; 0:
        returns_only) and the rank by spend, ties by customer_id."""
        per = self.customer_lifetime()
        spends = sorted(row["net_spend"] for row in per.values())
        n = len(spends)
        ranked = sorted(per, key=lambda customer: (-per[customer]["net_spend"], customer))
        result = {}
        for rank, customer in enumerate(ranked, start=1):
            row = per[customer]
            more = n - bisect_right(spends, row["net_spend"])  # customers who spent more
            if row["net_spend"] <= 0:
                tier = "Low"
            else:
                tier = "High" if 10 * more < 2 * n else "Medium" if 10 * more < 5 * n else "Low"
            completed = row["completed_orders"]
            result[customer] = {
                "orders": row["orders"],
                "completed_orders": completed,
                "lifetime_net_revenue": row["net_spend"],
                "sales_net_amount": row["sales_net"],
                "first_sale_date": row["first"],
                "last_sale_date": row["last"],
                "revenue_rank": rank,
                "value_tier": tier,
                "buyer_type": "repeat" if completed >= 2 else "one_time" if completed else
                "returns_only",
            }  # fmt: skip
        return result

    def customer_value_tiers(self) -> dict[str, dict]:
        """High: fewer than 20 % of the customers spent strictly more; Medium: fewer than
        50 %; else Low; nothing spent: Low. Per tier with customers."""
        per = self.customer_lifetime()
        spends = sorted(row["net_spend"] for row in per.values())
        n = len(spends)
        total = sum(spends, Decimal(0))
        tiers: dict[str, dict] = {}
        for row in per.values():
            more = n - bisect_right(spends, row["net_spend"])  # customers who spent more
            if row["net_spend"] <= 0:
                tier = "Low"
            elif 10 * more < 2 * n:
                tier = "High"
            elif 10 * more < 5 * n:
                tier = "Medium"
            else:
                tier = "Low"
            entry = tiers.setdefault(tier, {"customers": 0, "net_revenue": Decimal(0),
                                            "spends": [], "repeat_customers": 0})  # fmt: skip
            entry["customers"] += 1
            entry["net_revenue"] += row["net_spend"]
            entry["spends"].append(row["net_spend"])
            entry["repeat_customers"] += row["completed_orders"] >= 2
        for tier, entry in tiers.items():
            spends_of_tier = entry.pop("spends")
            entry["tier_order"] = {"High": 1, "Medium": 2, "Low": 3}[tier]
            entry["customer_share"] = entry["customers"] / n
            entry["revenue_share"] = float(entry["net_revenue"] / total) if total else None
            entry["avg_net_revenue_per_customer"] = money(entry["net_revenue"] / entry["customers"])
            entry["min_customer_net_spend"] = min(spends_of_tier)
            entry["max_customer_net_spend"] = max(spends_of_tier)
        return tiers

    def repeat_customer_revenue(self) -> dict[str, dict]:
        """repeat: 2+ completed orders; one_time: 1; returns_only: 0 (every sale returned)."""
        per = self.customer_lifetime()
        types: dict[str, dict] = {}
        for row in per.values():
            completed = row["completed_orders"]
            kind = "repeat" if completed >= 2 else "one_time" if completed == 1 else "returns_only"
            entry = types.setdefault(kind, {"customers": 0, "net_revenue": Decimal(0)})
            entry["customers"] += 1
            entry["net_revenue"] += row["net_spend"]
        customers = sum(e["customers"] for e in types.values())
        revenue = sum((e["net_revenue"] for e in types.values()), Decimal(0))
        one_time = types.get("one_time")
        one_time_average = (
            one_time["net_revenue"] / one_time["customers"] if one_time else Decimal(0)
        )
        for kind, entry in types.items():
            average = entry["net_revenue"] / entry["customers"]
            entry["type_order"] = {"repeat": 1, "one_time": 2, "returns_only": 3}[kind]
            entry["customer_share"] = entry["customers"] / customers
            entry["revenue_share"] = float(entry["net_revenue"] / revenue) if revenue else None
            entry["avg_net_revenue_per_customer"] = money(average)
            entry["avg_revenue_vs_one_time"] = (
                float(average / one_time_average) if one_time_average else None
            )
        return types

    def top_customers(self, top: int = 10) -> list[dict]:
        """The ``top`` customers by net revenue, ties by customer_id; with what BI may see."""
        per = self.customer_lifetime()
        total = sum((row["net_spend"] for row in per.values()), Decimal(0))
        customers = {c["customer_id"]: c for c in self.rows["customers"]}
        ranked = sorted(per.items(), key=lambda item: (-item[1]["net_spend"], item[0]))[:top]
        return [
            {
                "revenue_rank": rank,
                "customer_id": customer_id,
                "city": customers[customer_id]["city"],
                "region": customers[customer_id]["region"],
                "loyalty_tier": customers[customer_id]["loyalty_tier"],
                "signup_date": date.fromisoformat(customers[customer_id]["signup_date"]),
                "orders": row["orders"],
                "completed_orders": row["completed_orders"],
                "net_revenue": row["net_spend"],
                "revenue_share": float(row["net_spend"] / total) if total else None,
                "first_sale_date": row["first"],
                "last_sale_date": row["last"],
            }
            for rank, (customer_id, row) in enumerate(ranked, start=1)
        ]

    def city_sales(self) -> dict[tuple[str, str], dict]:
        """Per (city, region) of the customer's newest valid version, over all days."""
        customers = {c["customer_id"]: c for c in self.rows["customers"]}
        result: dict[tuple[str, str], dict] = {}
        for order in self.orders.values():
            if not order.is_sale:
                continue
            customer = customers[order.customer_id]
            row = result.setdefault(
                (customer["city"], customer["region"]),
                {"orders": 0, "customers": set(), "net_revenue": Decimal(0),
                 "sales_net": Decimal(0)},
            )  # fmt: skip
            row["orders"] += 1
            row["customers"].add(order.customer_id)
            row["net_revenue"] += order.net_revenue
            row["sales_net"] += order.net
        total = sum((row["net_revenue"] for row in result.values()), Decimal(0))
        for row in result.values():
            row["customers"] = len(row["customers"])
            row["avg_order_value"] = money(row.pop("sales_net") / row["orders"])
            row["revenue_share"] = float(row["net_revenue"] / total) if total else None
        for row in result.values():
            row["revenue_rank"] = 1 + sum(
                1 for other in result.values() if other["net_revenue"] > row["net_revenue"]
            )
        return result

    def customer_demographics(self) -> dict[tuple[str, str, str, str], dict]:
        """Per (age band, gender, loyalty tier, region) of every customer's newest valid
        version: the customer base, customers (with a sale), their sales orders and net
        revenue, the revenue share and orders per customer with a sale. The age is taken on
        the newest day of any valid customer's newest version; no birth date: 'unknown', no
        gender: 'unknown'."""
        customers = self.rows["customers"]
        as_of = max(date.fromisoformat(c["transaction_date"]) for c in customers)
        lifetime = self.customer_lifetime()
        result: dict[tuple[str, str, str, str], dict] = {}
        for customer in customers:
            group = (
                age_band(customer.get("birth_date"), as_of),
                customer.get("gender") or "unknown",
                customer["loyalty_tier"],
                customer["region"],
            )
            row = result.setdefault(
                group, {"customer_base": 0, "customers": 0, "orders": 0, "net_revenue": Decimal(0)}
            )
            row["customer_base"] += 1
            bought = lifetime.get(customer["customer_id"])
            if bought is not None:
                row["customers"] += 1
                row["orders"] += bought["orders"]
                row["net_revenue"] += bought["net_spend"]
        total = sum((row["net_revenue"] for row in result.values()), Decimal(0))
        for row in result.values():
            row["revenue_share"] = float(row["net_revenue"] / total) if total else None
            row["orders_per_customer"] = (
                row["orders"] / row["customers"] if row["customers"] else None
            )
        return result

    def category_sales(self) -> dict[tuple[date, str], dict]:
        """Per month and product category (the product's newest valid version)."""
        categories = {p["product_id"]: p["category"] for p in self.rows["products"]}
        result: dict[tuple[date, str], dict] = {}
        for line in self.lines:
            order = line["order"]
            if not order.is_sale:
                continue
            row = result.setdefault(
                (order.day.replace(day=1), categories[line["product_id"]]),
                {"order_ids": set(), "units": 0, "net_revenue": Decimal(0)},
            )
            row["order_ids"].add(order.order_id)
            row["units"] += line["quantity"]
            if order.status == "completed":
                row["net_revenue"] += line["net"]
        months: dict[date, Decimal] = defaultdict(Decimal)
        for (month, _), row in result.items():
            row["orders"] = len(row.pop("order_ids"))
            months[month] += row["net_revenue"]
        for (month, _), row in result.items():
            total = months[month]
            row["revenue_share_of_month"] = float(row["net_revenue"] / total) if total else None
        return result

    def discount_analysis(self) -> dict[str, dict]:
        """Per discount band of the line's rate, (lower, upper]: units of sales orders;
        revenue, discount, cost (current unit_cost) and margin of completed orders."""
        costs = {p["product_id"]: Decimal(str(p["unit_cost"])) for p in self.rows["products"]}
        bands = ((Decimal(0), "no discount", 1), (Decimal("0.10"), "up to 10%", 2),
                 (Decimal("0.20"), "10-20%", 3), (Decimal("0.30"), "20-30%", 4))  # fmt: skip
        result: dict[str, dict] = {}
        for line in self.lines:
            order = line["order"]
            if not order.is_sale:
                continue
            band, band_order = next(
                ((name, rank) for upper, name, rank in bands if line["discount_rate"] <= upper),
                ("over 30%", 5),
            )
            row = result.setdefault(
                band,
                {"band_order": band_order, "order_lines": 0, "units": 0,
                 "gross_revenue": Decimal(0), "net_revenue": Decimal(0),
                 "cost_of_goods": Decimal(0)},
            )  # fmt: skip
            row["order_lines"] += 1
            row["units"] += line["quantity"]
            if order.status == "completed":
                row["gross_revenue"] += line["gross"]
                row["net_revenue"] += line["net"]
                row["cost_of_goods"] += line["quantity"] * costs[line["product_id"]]
        units = sum(row["units"] for row in result.values())
        revenue = sum((row["net_revenue"] for row in result.values()), Decimal(0))
        for row in result.values():
            row["unit_share"] = row["units"] / units
            row["discount_amount"] = row["gross_revenue"] - row["net_revenue"]
            row["revenue_share"] = float(row["net_revenue"] / revenue) if revenue else None
            row["gross_margin"] = row["net_revenue"] - row["cost_of_goods"]
            row["margin_rate"] = (
                float(row["gross_margin"] / row["net_revenue"]) if row["net_revenue"] else None
            )
        return result


def _score(per: dict[str, dict], measure: Callable[[dict], object], field: str) -> None:
    """least(5, 1 + floor(5 x percent_rank())) over ``measure`` ascending, where
    percent_rank = (rank - 1) / (n - 1) (0 for one customer) and rank = 1 + the customers
    with a smaller measure: equal measures, equal scores. Exact integer arithmetic."""
    values = sorted(measure(row) for row in per.values())
    n = len(values)
    for row in per.values():
        smaller = bisect_left(values, measure(row))
        row[field] = 1 if n == 1 else min(5, 1 + (5 * smaller) // (n - 1))


def segment(r: int, f: int) -> str:
    """The contract's RFM segments, first match wins."""
    rules = (
        ("Champions", r >= 4 and f >= 4),
        ("Can't Lose Them", r == 1 and f >= 4),
        ("At Risk", r <= 2 and f >= 3),
        ("Loyal", r >= 3 and f >= 3),
        ("New", r >= 4 and f == 1),
        ("Potential Loyalists", r >= 3 and f == 2),
        ("Promising", r >= 3),
    )
    return next((name for name, matches in rules if matches), "Hibernating")
