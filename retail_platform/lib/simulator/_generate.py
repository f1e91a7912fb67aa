"""Clean (fault-free) content of one day: dimension rows, sales facts with their late
updates, and the inventory snapshot. Every function is a closed-form function of
(world, day index) and the day's own random streams."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from retail_platform.lib.simulator import _arrow as A
from retail_platform.lib.simulator._calendar import promo, season
from retail_platform.lib.simulator._random import uniform
from retail_platform.lib.simulator._world import (
    INVENTORY_WINDOW,
    TIERS,
    GuidedCDF,
    Sampler,
    World,
)

DAY = A.SECONDS_PER_DAY
CUSTOMER_ID_WIDTH = 8  # "C00000001"
ORDER_NO_WIDTH = 6  # per day: "O-20250101-000001"
TIER_NAMES = pa.array(TIERS)

# ----------------------------------------------------------------------------- sales constants

_IN_STORE_HOURS = np.array([0] * 9 + [3, 5, 7, 9, 8, 7, 7, 8, 9, 9, 7, 4] + [0] * 3, float)
_ONLINE_HOURS = np.array(
    [2, 1, 1, 0.5, 0.5, 0.7, 1.5, 3, 4, 5, 5, 6, 6, 6, 5, 5, 6, 7, 8, 9, 9, 8, 6, 4], float
)
IN_STORE_HOUR = Sampler(_IN_STORE_HOURS)
ONLINE_HOUR = Sampler(_ONLINE_HOURS)

CHANNELS = pa.array(["in_store", "online"])
ORDER_STATUSES = pa.array(["completed", "cancelled", "returned"])
COMPLETED, CANCELLED, RETURNED = 0, 1, 2
# (in_store, online) probabilities; overall ~4% cancelled and ~6% returned
P_CANCEL = (0.030, 0.063)
P_RETURN = (0.050, 0.085)

QTY = Sampler([0.80, 0.14, 0.04, 0.01, 0.01])
QTY_CHEAP = Sampler([0.50, 0.28, 0.12, 0.06, 0.04])
DISCOUNT_PCT = np.array([0, 5, 10, 15, 20, 30, 40])
_DISCOUNT_W = np.array([0.0, 0.05, 0.06, 0.03, 0.04, 0.015, 0.005])  # ~20% discounted

METHODS = pa.array(["card", "cash", "bank_transfer", "wallet"])
CARD, CASH, BANK, WALLET = 0, 1, 2, 3
_IN_STORE_METHOD = (np.array([CARD, CASH, WALLET]), Sampler([0.60, 0.25, 0.15]))
_ONLINE_METHOD = (np.array([CARD, WALLET, BANK]), Sampler([0.65, 0.25, 0.10]))
FAIL_RATE = np.array([0.03, 0.0, 0.08, 0.02])
PAYMENT_STATUSES = pa.array(["succeeded", "failed", "refunded"])
SUCCEEDED, FAILED, REFUNDED = 0, 1, 2

# carrier: share, late prob, early prob, damage prob, loss factor
CARRIERS = (
    ("UPS", 0.30, 0.07, 0.20, 0.008, 0.8),
    ("FedEx", 0.25, 0.05, 0.25, 0.006, 0.7),
    ("USPS", 0.25, 0.16, 0.10, 0.015, 1.2),
    ("DHL", 0.12, 0.10, 0.15, 0.010, 1.0),
    ("OnTrac", 0.08, 0.24, 0.05, 0.030, 2.0),
)
CARRIER_NAMES = pa.array([c[0] for c in CARRIERS])
_CARRIER = Sampler([c[1] for c in CARRIERS])
_CARRIER_LATE = np.array([c[2] for c in CARRIERS])
_CARRIER_EARLY = np.array([c[3] for c in CARRIERS])
_CARRIER_DAMAGE = np.array([c[4] for c in CARRIERS])
_CARRIER_LOSS = np.array([c[5] for c in CARRIERS])
SERVICE_LEVELS = pa.array(["standard", "express", "next_day"])
_SERVICE = Sampler([0.70, 0.22, 0.08])
_PROMISE_DAYS = np.array([4, 2, 1])
_SERVICE_COST = (np.array([499, 999, 1999]), np.array([400, 500, 1000]))
SHIPMENT_STATUSES = pa.array(["in_transit", "delivered", "lost", "returned"])
IN_TRANSIT, DELIVERED, LOST, RTS = 0, 1, 2, 3
SHIPMENT_FINAL_MAX_DAYS = 7
RETURN_MAX_DAYS = 20


def _digits_suffix(prefix: str, t_date: str) -> str:
    return f"{prefix}-{t_date.replace('-', '')}-"


# ----------------------------------------------------------------------------- dimensions


def stores_table(world: World, t: int) -> pa.Table:
    n = world.n_stores
    tdate = world.day(t).isoformat()
    upd = (world.base_day + t) * DAY + 6 * 3600 + np.arange(n) * 7
    return A.table(
        "stores",
        {
            "store_id": world.store_ids,
            "name": world.store_names,
            "city": A.take(world.city_names_arr, world.store_city),
            "region": A.take(world.region_names_arr, world.store_region),
            "opened_on": A.date_strings(world.store_opened),
            "transaction_date": A.repeat(tdate, n),
            "updated_at": A.timestamp_strings(upd),
        },
    )


def employees_table(world: World, t: int) -> pa.Table:
    n = len(world.employee_ids)
    tdate = world.day(t).isoformat()
    upd = (world.base_day + t) * DAY + 6 * 3600 + 600 + np.arange(n) * 3
    return A.table(
        "employees",
        {
            "employee_id": world.employee_ids,
            "store_id": A.take(world.store_ids, world.employee_store),
            "full_name": world.employee_names,
            "role": world.employee_roles,
            "hired_on": A.date_strings(world.employee_hired),
            "transaction_date": A.repeat(tdate, n),
            "updated_at": A.timestamp_strings(upd),
        },
    )


def products_table(world: World, t: int) -> pa.Table | None:
    """The catalogue on day 0, afterwards one row per product whose price changes on ``t``."""
    prod, version = np.nonzero(world.price_days == t)
    if not len(prod):
        return None
    order = np.argsort(prod, kind="stable")
    prod, version = prod[order], version[order]
    n = len(prod)
    tdate = world.day(t).isoformat()
    r = world.rng("products-updated", t)
    upd = (world.base_day + t) * DAY + r.integers(0, 3 * 3600, n) + 2 * 3600
    return A.table(
        "products",
        {
            "product_id": A.take(world.product_ids, prod),
            "sku": A.take(world.product_sku, prod),
            "name": A.take(world.product_name, prod),
            "category": A.take(world.product_category, prod),
            "brand": A.take(world.product_brand, prod),
            "list_price": A.decimals(world.price_cents[prod, version]),
            "unit_cost": A.decimals(world.unit_cost[prod]),
            "transaction_date": A.repeat(tdate, n),
            "updated_at": A.timestamp_strings(upd),
        },
    )


UPDATE_BLOCK_DAYS = 64


def _epochs(cust, a: int, idx: np.ndarray, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Attribute ``a`` of customer ``i`` changes every ``epoch`` days, shifted by ``off``:
    on the days ``t > signup`` with ``(t - signup + off) % epoch == 0``. The mean change
    rate over the three attributes is ``rate`` per customer and day."""
    epoch = np.maximum(1, np.rint(cust.col(f"eu{a}")[idx] * 3 * np.log(3) / rate)).astype(np.int64)
    off = np.floor(cust.col(f"ph{a}")[idx] * epoch).astype(np.int64)
    return epoch, off


def _update_block(world: World, rate: float, block: int) -> tuple[np.ndarray, np.ndarray]:
    """(day, customer) of every change of an active customer within a block of days."""
    first, stop = block * UPDATE_BLOCK_DAYS, (block + 1) * UPDATE_BLOCK_DAYS
    cust = world.customers
    cust.ensure(stop - 1)
    n = cust.bounds[stop]  # everybody who signed up before the block ends
    idx = np.flatnonzero(cust.col("end", n) > first)
    signup = cust.col("signup")[idx].astype(np.int64)
    end = cust.col("end")[idx].astype(np.int64)
    days, who = [], []
    for a in range(3):
        epoch, off = _epochs(cust, a, idx, rate)
        lo = np.maximum(first, signup + 1)
        day = lo + (signup - off - lo) % epoch
        cand = np.arange(len(idx))
        while len(cand):
            limit = np.minimum(stop, end[cand])
            ok = day < limit
            days.append(day[ok])
            who.append(idx[cand[ok]])
            keep = ok & (day + epoch[cand] < limit)
            cand, day = cand[keep], (day + epoch[cand])[keep]
    day_all = np.concatenate(days)
    who_all = np.concatenate(who)
    pairs = np.unique(day_all * (1 << 32) + who_all)
    return pairs >> 32, pairs & ((1 << 32) - 1)


def _updates_on(world: World, rate: float, t: int) -> np.ndarray:
    cache = world.__dict__.setdefault("_update_cache", {})
    block = t // UPDATE_BLOCK_DAYS
    hit = cache.get((rate, block))
    if hit is None:
        if len(cache) > 16:
            cache.clear()
        hit = cache[(rate, block)] = _update_block(world, rate, block)
    days, who = hit
    return who[np.searchsorted(days, t, "left") : np.searchsorted(days, t, "right")]


def customers_table(world: World, t: int, update_rate: float) -> tuple[pa.Table | None, int]:
    """Sign-ups of day ``t`` plus newer versions of customers whose email, city or
    loyalty tier changes on ``t``. Returns (table, number of update rows)."""
    cust = world.customers
    cust.ensure(t)
    lo, hi = cust.bounds[t], cust.bounds[t + 1]
    new_idx = np.arange(lo, hi)
    upd_idx = np.empty(0, np.int64)
    ks = np.zeros((3, 0), np.int64)
    if update_rate > 0 and lo > 0:
        upd_idx = _updates_on(world, update_rate, t)
        signup = cust.col("signup")[upd_idx].astype(np.int64)
        ks = np.stack(
            [
                (t - signup + off) // epoch
                for epoch, off in (_epochs(cust, a, upd_idx, update_rate) for a in range(3))
            ]
        ) if len(upd_idx) else ks  # fmt: skip
    idx = np.concatenate([new_idx, upd_idx]).astype(np.int64)
    if not len(idx):
        return None, 0
    n_new = len(new_idx)
    k_email = np.concatenate([np.zeros(n_new, np.int64), ks[0]])
    k_city = np.concatenate([np.zeros(n_new, np.int64), ks[1]])
    k_tier = np.concatenate([np.zeros(n_new, np.int64), ks[2]])

    def c(name: str) -> np.ndarray:
        return cust.col(name)[idx]

    first, last = c("first"), c("last")
    n_dom = len(world.email_domains)
    suffix = pc.if_else(
        pa.array(k_email > 0),
        pc.binary_join_element_wise(".", pc.cast(pa.array(k_email), pa.string()), ""),
        "",
    )
    email = pc.binary_join_element_wise(
        A.take(world.first_slugs, first),
        ".",
        A.take(world.last_slugs, last),
        pc.cast(pa.array(idx + 1), pa.string()),
        suffix,
        "@",
        A.take(world.email_domains, (c("domain") + k_email) % n_dom),
        "",
    )
    region = world.store_region[c("store")]
    size = world.region_pool_size[region]
    step = 1 + c("city_step") % np.maximum(size - 1, 1)
    pos = (c("city_pos") + k_city * step) % size
    city = world.region_pool[region, pos]
    b = c("tier0").astype(np.int64) + k_tier
    tier = np.where(b <= 2, b, 2 - (b - 2) % 2)
    signup = c("signup").astype(np.int64)
    r = world.rng("customer-updates", t)
    upd = np.concatenate(
        [
            (world.base_day + signup[:n_new]) * DAY + c("signup_sec")[:n_new],
            (world.base_day + t) * DAY + r.integers(0, DAY, len(upd_idx)),
        ]
    )
    tdate = world.day(t).isoformat()
    tab = A.table(
        "customers",
        {
            "customer_id": A.fixed_ids("C", idx + 1, CUSTOMER_ID_WIDTH),
            "first_name": A.take(world.first_names, first),
            "last_name": A.take(world.last_names, last),
            "email": email,
            "city": A.take(world.city_names_arr, city),
            "region": A.take(world.region_names_arr, region),
            "loyalty_tier": A.take(TIER_NAMES, tier),
            "signup_date": A.date_strings(world.base_day + signup),
            "transaction_date": A.repeat(tdate, len(idx)),
            "updated_at": A.timestamp_strings(upd),
        },
    )
    return tab, len(upd_idx)


# ----------------------------------------------------------------------------- sales


@dataclass
class Sales:
    """One day of sales as column arrays; tables are built on demand."""

    world: World
    t: int
    tdate: str
    # orders
    order_no: np.ndarray
    customer: np.ndarray
    store: np.ndarray
    employee: np.ndarray  # -1 for online
    online: np.ndarray
    ordered_at: np.ndarray
    final_status: np.ndarray
    first_status_at: np.ndarray  # updated_at of the first version
    return_at: np.ndarray  # for final_status == RETURNED, else 0
    # lines
    line_order: np.ndarray
    line_no: np.ndarray
    product: np.ndarray
    quantity: np.ndarray
    unit_price: np.ndarray
    discount_pct: np.ndarray
    line_cents: np.ndarray
    net_cents: np.ndarray
    # payments (row arrays)
    pay_order: np.ndarray
    pay_suffix: np.ndarray  # b"1", b"2", b"R"
    pay_method: np.ndarray
    pay_status: np.ndarray
    pay_attempt: np.ndarray
    pay_at: np.ndarray
    pay_is_return_refund: np.ndarray
    # shipments (row arrays, one per shipped order)
    ship_order: np.ndarray
    ship_carrier: np.ndarray
    ship_service: np.ndarray
    shipped_at: np.ndarray
    promised_day: np.ndarray
    ship_final_status: np.ndarray
    delivered_at: np.ndarray  # 0 when not delivered
    damaged: np.ndarray
    ship_cost: np.ndarray
    ship_final_at: np.ndarray

    @property
    def n_orders(self) -> int:
        return len(self.order_no)

    @property
    def n_lines(self) -> int:
        return len(self.line_order)

    def _prefix(self, kind: str) -> str:
        return _digits_suffix(kind, self.tdate)

    def order_ids(self, rows: np.ndarray) -> pa.Array:
        mat = self.__dict__.get("_order_id_matrix")
        if mat is None:
            mat = A.id_matrix(self._prefix("O"), self.order_no, ORDER_NO_WIDTH)
            self.__dict__["_order_id_matrix"] = mat
        return A.matrix_strings(np.take(mat, rows, axis=0))

    def orders_table(self, rows: np.ndarray, final: bool) -> pa.Table:
        """Order rows ``rows``; ``final`` gives returned orders their returned version."""
        status = self.final_status[rows].copy()
        upd = self.first_status_at[rows].copy()
        if final:
            ret = status == RETURNED
            upd[ret] = self.return_at[rows][ret]
        else:
            status[status == RETURNED] = COMPLETED
        emp = self.employee[rows]
        has_emp = emp >= 0
        n = len(rows)
        return A.table(
            "orders",
            {
                "order_id": self.order_ids(rows),
                "customer_id": A.fixed_ids("C", self.customer[rows] + 1, CUSTOMER_ID_WIDTH),
                "store_id": A.take(self.world.store_ids, self.store[rows]),
                "employee_id": A.take(self.world.employee_ids, np.where(has_emp, emp, 0), has_emp),
                "channel": A.take(CHANNELS, self.online[rows].astype(np.int64)),
                "status": A.take(ORDER_STATUSES, status),
                "ordered_at": A.timestamp_strings(self.ordered_at[rows]),
                "transaction_date": A.repeat(self.tdate, n),
                "updated_at": A.timestamp_strings(upd),
            },
        )

    def items_table(self) -> pa.Table:
        n = self.n_lines
        return A.table(
            "order_items",
            {
                "order_id": self.order_ids(self.line_order),
                "line_no": pa.array(self.line_no, pa.int64()),
                "product_id": A.take(self.world.product_ids, self.product),
                "quantity": pa.array(self.quantity, pa.int64()),
                "unit_price": A.decimals(self.unit_price),
                "discount_rate": A.decimals(self.discount_pct, A.RATE),
                "line_amount": A.decimals(self.line_cents),
                "transaction_date": A.repeat(self.tdate, n),
                "updated_at": A.matrix_strings(
                    A.timestamp_matrix(self.first_status_at)[self.line_order]
                ),
            },
        )

    def payments_table(self, rows: np.ndarray) -> pa.Table:
        n = len(rows)
        orders = self.pay_order[rows]
        return A.table(
            "payments",
            {
                "payment_id": _payment_ids(
                    self._prefix("PAY"), self.order_no[orders], self.pay_suffix[rows]
                ),
                "order_id": self.order_ids(orders),
                "method": A.take(METHODS, self.pay_method[rows]),
                "status": A.take(PAYMENT_STATUSES, self.pay_status[rows]),
                "amount": A.decimals(self.net_cents[orders]),
                "attempt": pa.array(self.pay_attempt[rows], pa.int64()),
                "paid_at": A.timestamp_strings(self.pay_at[rows]),
                "transaction_date": A.repeat(self.tdate, n),
                "updated_at": A.timestamp_strings(self.pay_at[rows]),
            },
        )

    def shipments_table(self, rows: np.ndarray, final: bool) -> pa.Table:
        n = len(rows)
        orders = self.ship_order[rows]
        if final:
            status = self.ship_final_status[rows]
            delivered = self.delivered_at[rows]
            has = status == DELIVERED
            delivered_at = A.timestamp_strings(np.where(has, delivered, 0), has)
            damaged = self.damaged[rows]
            upd = self.ship_final_at[rows]
        else:
            status = np.full(n, IN_TRANSIT)
            delivered_at = pa.nulls(n, pa.string())
            damaged = np.zeros(n, bool)
            upd = self.shipped_at[rows]
        return A.table(
            "shipments",
            {
                "shipment_id": A.fixed_ids(
                    self._prefix("SHP"), self.order_no[orders], ORDER_NO_WIDTH
                ),
                "order_id": self.order_ids(orders),
                "carrier": A.take(CARRIER_NAMES, self.ship_carrier[rows]),
                "service_level": A.take(SERVICE_LEVELS, self.ship_service[rows]),
                "shipped_at": A.timestamp_strings(self.shipped_at[rows]),
                "promised_on": A.date_strings(self.promised_day[rows]),
                "delivered_at": delivered_at,
                "status": A.take(SHIPMENT_STATUSES, status),
                "damaged": pa.array(damaged, pa.bool_()),
                "cost": A.decimals(self.ship_cost[rows]),
                "transaction_date": A.repeat(self.tdate, n),
                "updated_at": A.timestamp_strings(upd),
            },
        )


def _payment_ids(prefix: str, numbers: np.ndarray, suffix: np.ndarray) -> pa.Array:
    """``PAY-YYYYMMDD-NNNNNN-<1|2|R>``: the order number plus the payment's sequence."""
    mat = A.id_matrix(prefix, numbers, ORDER_NO_WIDTH, extra=2)
    mat[:, -2] = ord("-")
    mat[:, -1] = suffix
    return A.matrix_strings(mat)


_DISCOUNT_SAMPLERS: dict[float, Sampler] = {}


def _discount_sampler(level: float) -> Sampler:
    sampler = _DISCOUNT_SAMPLERS.get(level)
    if sampler is None:
        w = _DISCOUNT_W * level
        w[0] = 1.0 - w[1:].sum()
        sampler = _DISCOUNT_SAMPLERS[level] = Sampler(w)
    return sampler


BUYER_BLOCK_DAYS = 64


def _buyer_block(world: World, block: int):
    """Customers who can buy during a block of days, with the CDF of their base rate."""
    cache = world.__dict__.setdefault("_buyer_cache", {})
    hit = cache.get(block)
    if hit is None:
        first, stop = block * BUYER_BLOCK_DAYS, (block + 1) * BUYER_BLOCK_DAYS
        cust = world.customers
        cust.ensure(stop - 1)
        n = cust.bounds[stop]
        idx = np.flatnonzero(cust.col("end", n) > first)
        cdf = np.cumsum(cust.col("rate")[idx])
        hit = (
            idx,
            cust.col("signup")[idx],
            cdf,
            GuidedCDF(cdf),
            cust.col("end")[idx].astype(np.float64),
            1.0 / cust.col("wdecl")[idx],
        )
        if len(cache) > 4:
            cache.clear()
        cache[block] = hit
    return hit


def _repeat_buyers(world: World, t: int, n: int, r: np.random.Generator) -> np.ndarray:
    """``n`` buyers among customers signed up by ``t``, with probability proportional to
    rate x activity, where activity falls linearly to 0 over the last ``wdecl`` days of
    the customer's lifetime. Rejection sampling from the block's static rate CDF."""
    if n <= 0:
        return np.empty(0, np.int64)
    idx, signup, cdf, guided, end, inv_w = _buyer_block(world, t // BUYER_BLOCK_DAYS)
    m = int(np.searchsorted(signup, t, side="right"))
    if not m or cdf[m - 1] <= 0:
        return np.empty(0, np.int64)
    total = cdf[m - 1]
    chosen: list[np.ndarray] = []
    need = n
    for _ in range(50):
        k = int(need * 1.3) + 16
        pos = np.minimum(guided(np.sort(r.random(k)) * total), m - 1)
        keep = r.random(k) < np.clip((end[pos] - t) * inv_w[pos], 0.0, 1.0)
        got = pos[keep][:need]
        chosen.append(got)
        need -= len(got)
        if not need:
            break
    return idx[np.sort(np.concatenate(chosen))]


def sales(world: World, t: int, orders_per_day: int | None = None) -> Sales:
    """Day ``t``'s sales at an average of ``orders_per_day`` orders (``None``: the volume
    the world is sized for). The buyers are customers of the world signed up by ``t``,
    whatever the volume: a busier day means more orders, not other customers."""
    day = world.day(t)
    tdate = day.isoformat()
    r = world.rng("sales", t)
    day_start = (world.base_day + t) * DAY
    day_end = day_start + DAY - 1
    opd = world.orders_per_day if orders_per_day is None else orders_per_day
    n = int(r.poisson(opd * season(day) * np.exp(r.normal(0.0, 0.05)))) if opd > 0 else 0

    # ..... who buys
    cust = world.customers
    cust.ensure(t)
    lo, hi = cust.bounds[t], cust.bounds[t + 1]
    first = lo + np.flatnonzero(cust.col("buys_first", hi)[lo:hi])
    first = first[:n]
    rest = _repeat_buyers(world, t, n - len(first), r)
    customer = np.concatenate([first, rest]).astype(np.int64)
    n = len(customer)

    # ..... channel, store, time of day
    online = r.random(n) < cust.col("online_p", hi)[customer]
    pref = cust.col("store", hi)[customer]
    other = world.sample_store.draw(r, n)
    store = np.where(online | (r.random(n) < 0.85), pref, other).astype(np.int64)
    hour = np.empty(n, np.int64)
    hour[online] = ONLINE_HOUR.draw(r, int(online.sum()))
    hour[~online] = IN_STORE_HOUR.draw(r, n - int(online.sum()))
    sec = hour * 3600 + r.integers(0, 3600, n)
    nf = len(first)
    sec[:nf] = np.minimum(cust.col("signup_sec", hi)[first] + r.integers(60, 1800, nf), DAY - 1)
    order = np.argsort(sec, kind="stable")
    customer, online, store, sec = customer[order], online[order], store[order], sec[order]
    ordered_at = day_start + sec
    order_no = np.arange(1, n + 1)
    seller = world.pick_seller(store, r.random(n))
    employee = np.where(online, -1, seller)

    # ..... lines
    spend = cust.col("spend", hi)[customer]
    n_lines = 1 + np.minimum(5, r.poisson(2.0 * np.sqrt(spend)))
    total = int(n_lines.sum())
    starts = (np.cumsum(n_lines) - n_lines).astype(np.int64)
    line_order = np.repeat(np.arange(n), n_lines)
    line_no = np.arange(total) - np.repeat(starts, n_lines) + 1
    product = world.sample_product.draw(r, total)
    unit_price = world.prices_on(t)[product]
    cheap = world.cheap[product]
    quantity = np.empty(total, np.int64)
    quantity[cheap] = 1 + QTY_CHEAP.draw(r, int(cheap.sum()))
    quantity[~cheap] = 1 + QTY.draw(r, total - int(cheap.sum()))
    discount = DISCOUNT_PCT[_discount_sampler(promo(day)).draw(r, total)]
    # round half away from zero on exact integers: (q * cents * (100 - pct)) / 100
    line_cents = (quantity * unit_price * (100 - discount) + 50) // 100
    net = np.add.reduceat(line_cents, starts) if n else np.empty(0, np.int64)

    # ..... status
    u = r.random(n)
    p_cancel = np.where(online, P_CANCEL[1], P_CANCEL[0])
    p_return = np.where(online, P_RETURN[1], P_RETURN[0])
    status = np.where(
        u < p_cancel, CANCELLED, np.where(u < p_cancel + p_return, RETURNED, COMPLETED)
    )
    cancelled = status == CANCELLED

    # ..... payments
    method = np.empty(n, np.int64)
    method[online] = _ONLINE_METHOD[0][_ONLINE_METHOD[1].draw(r, int(online.sum()))]
    method[~online] = _IN_STORE_METHOD[0][_IN_STORE_METHOD[1].draw(r, n - int(online.sum()))]
    pay0 = np.minimum(ordered_at + r.integers(5, 90, n), day_end)
    retry = np.minimum(pay0 + r.integers(60, 600, n), day_end)
    fail_first = (r.random(n) < FAIL_RATE[method]) & ~cancelled
    declined = cancelled & (method != CASH) & (r.random(n) < 0.6)
    declined_twice = declined & (r.random(n) < 0.3)
    cancel_refund = cancelled & ~declined
    cancel_at = np.where(
        declined,
        np.where(declined_twice, retry, pay0) + r.integers(30, 300, n),
        pay0 + r.integers(300, 7200, n),
    )
    cancel_at = np.minimum(cancel_at, day_end)
    first_status_at = np.where(cancelled, cancel_at, ordered_at)

    # ..... shipments (online orders that were not cancelled)
    ship_orders = np.flatnonzero(online & ~cancelled)
    m = len(ship_orders)
    carrier = _CARRIER.draw(r, m)
    service = _SERVICE.draw(r, m)
    shipped_at = np.minimum(ordered_at[ship_orders] + r.integers(1800, 6 * 3600, m), day_end)
    ship_day = shipped_at // DAY
    promise = _PROMISE_DAYS[service]
    promised_day = ship_day + promise
    early = (promise >= 2) & (r.random(m) < _CARRIER_EARLY[carrier])
    u_late = r.random(m)
    late = u_late < _CARRIER_LATE[carrier]
    delay = np.where(late, 1 + (u_late < 0.4 * _CARRIER_LATE[carrier]), 0)
    delay = delay + (late & (r.random(m) < 0.15))
    transit = promise - early + delay
    delivered_at = (ship_day + transit) * DAY + r.integers(9 * 3600, 20 * 3600, m)
    will_return = status[ship_orders] == RETURNED
    u_o = r.random(m)
    lost = will_return & (u_o < 0.10 * _CARRIER_LOSS[carrier])
    rts = will_return & ~lost & (u_o < 0.10 * _CARRIER_LOSS[carrier] + 0.2)
    ship_status = np.where(lost, LOST, np.where(rts, RTS, DELIVERED))
    damaged = (ship_status == DELIVERED) & (r.random(m) < _CARRIER_DAMAGE[carrier])
    lost_at = (promised_day + 3) * DAY + r.integers(8 * 3600, 18 * 3600, m)
    rts_at = shipped_at + r.integers(3 * DAY, 6 * DAY, m)
    final_at = np.where(lost, lost_at, np.where(rts, rts_at, delivered_at))
    base_cost, spread = _SERVICE_COST
    cost = (
        base_cost[service]
        + r.integers(0, spread[service])
        + np.rint(_CARRIER_LATE[carrier] * -400).astype(np.int64)
    )
    cost = np.maximum(cost, 299)

    # ..... returns: when the customer hands it back (or the carrier gives up)
    return_at = np.zeros(n, np.int64)
    ret_in_store = (status == RETURNED) & ~online
    k = int(ret_in_store.sum())
    return_at[ret_in_store] = (day_start // DAY + r.integers(1, 19, k)) * DAY + r.integers(
        10 * 3600, 19 * 3600, k
    )
    sr = ship_orders[will_return]
    delivered_ret = ship_status[will_return] == DELIVERED
    kr = len(sr)
    after_delivery = (delivered_at[will_return] // DAY + r.integers(1, 11, kr)) * DAY + r.integers(
        10 * 3600, 19 * 3600, kr
    )
    after_carrier = final_at[will_return] + r.integers(3600, 30 * 3600, kr)
    return_at[sr] = np.where(delivered_ret, after_delivery, after_carrier)
    latest = day_start + RETURN_MAX_DAYS * DAY + DAY - 1
    return_at = np.minimum(return_at, latest)

    # ..... payment rows: attempt 1 for every order, retries, refunds
    all_orders = np.arange(n)
    retried = fail_first | declined_twice
    refunded_return = status == RETURNED
    pay_order = np.concatenate(
        [all_orders, all_orders[retried], all_orders[cancel_refund], all_orders[refunded_return]]
    )
    pay_suffix = np.concatenate(
        [
            np.full(n, ord("1")),
            np.full(int(retried.sum()), ord("2")),
            np.full(int(cancel_refund.sum()) + int(refunded_return.sum()), ord("R")),
        ]
    ).astype(np.uint8)
    pay_status = np.concatenate(
        [
            np.where(fail_first | declined, FAILED, SUCCEEDED),
            np.where(declined_twice[retried], FAILED, SUCCEEDED),
            np.full(int(cancel_refund.sum()) + int(refunded_return.sum()), REFUNDED),
        ]
    )
    pay_attempt = np.concatenate(
        [
            np.ones(n, np.int64),
            np.full(int(retried.sum()), 2),
            np.ones(int(cancel_refund.sum()) + int(refunded_return.sum()), np.int64),
        ]
    )
    pay_at = np.concatenate(
        [pay0, retry[retried], cancel_at[cancel_refund], return_at[refunded_return]]
    )
    is_return_refund = np.concatenate(
        [np.zeros(n + int(retried.sum()) + int(cancel_refund.sum()), bool),
         np.ones(int(refunded_return.sum()), bool)]
    )  # fmt: skip
    rank = np.where(pay_suffix == ord("1"), 0, np.where(pay_suffix == ord("2"), 1, 2))
    pay_sort = np.lexsort((rank, pay_order))

    return Sales(
        world=world,
        t=t,
        tdate=tdate,
        order_no=order_no,
        customer=customer,
        store=store,
        employee=employee,
        online=online,
        ordered_at=ordered_at,
        final_status=status,
        first_status_at=first_status_at,
        return_at=return_at,
        line_order=line_order,
        line_no=line_no,
        product=product,
        quantity=quantity,
        unit_price=unit_price,
        discount_pct=discount,
        line_cents=line_cents,
        net_cents=net,
        pay_order=pay_order[pay_sort],
        pay_suffix=pay_suffix[pay_sort],
        pay_method=method[pay_order][pay_sort],
        pay_status=pay_status[pay_sort],
        pay_attempt=pay_attempt[pay_sort],
        pay_at=pay_at[pay_sort],
        pay_is_return_refund=is_return_refund[pay_sort],
        ship_order=ship_orders,
        ship_carrier=carrier,
        ship_service=service,
        shipped_at=shipped_at,
        promised_day=promised_day,
        ship_final_status=ship_status,
        delivered_at=delivered_at,
        damaged=damaged,
        ship_cost=cost,
        ship_final_at=final_at,
    )


# ----------------------------------------------------------------------------- inventory


INVENTORY_CACHE = 40  # days of per-cell demand kept per world


def _inventory_day(world: World, t: int) -> tuple[np.ndarray, np.ndarray]:
    """Units sold and units damaged per (store, product) cell on day ``t``: counter-based
    hash noise of (seed, cell, day), so any day can be computed on its own."""
    cache = world.__dict__.setdefault("_inv_cache", {})
    hit = cache.get(t)
    if hit is not None:
        return hit
    n = len(world.inv_lambda)
    if t < 0:
        res = (np.zeros(n, np.int64), np.zeros(n, np.int64))
    else:
        cells = world.inv_cells
        u1 = uniform(world.inv_key, cells, t, 1)
        u2 = uniform(world.inv_key, cells, t, 2)
        u3 = uniform(world.inv_key, cells, t, 3)
        noise = -0.5 * (np.log1p(-u1) + np.log1p(-u2))  # Gamma(2, 1/2): mean 1
        demand = world.inv_lambda * season(world.day(t)) * noise
        units = np.floor(demand + u3).astype(np.int64)
        damaged = np.where(u3 < 0.004, 1 + (u1 < 0.3), 0).astype(np.int64)
        res = (units, damaged)
    if len(cache) > 2 * INVENTORY_CACHE:
        for old in sorted(cache)[:INVENTORY_CACHE]:
            del cache[old]
    cache[t] = res
    return res


def inventory_table(world: World, t: int) -> pa.Table:
    """End-of-day stock per (store, product), a closed-form sawtooth.

    Each cell is restocked up to a fixed level every 7 or 14 days (its own phase);
    in between, stock falls by that day's sales and damage and bottoms out at 0
    (a stock-out) until the next delivery. Day ``t`` only needs the cell's current and
    previous cycle, i.e. the last ``INVENTORY_WINDOW`` days of demand.
    """
    cycle, phase, level = world.inv_cycle, world.inv_phase, world.inv_level
    first = t - INVENTORY_WINDOW + 1
    window = range(first, t + 1)
    used = np.stack([sum(_inventory_day(world, d)) for d in window], axis=1)  # (cells, days)
    cum = np.cumsum(used, axis=1)
    cum = np.concatenate([np.zeros((len(cum), 1), np.int64), cum], axis=1)  # cum[:, j] = sum < j

    def col(day: np.ndarray) -> np.ndarray:  # index into cum for "before day"
        return day - first

    rows = np.arange(len(level))
    start = np.maximum(0, t - (t + phase) % cycle)  # current cycle started (restocked) here
    on_hand = np.maximum(0, level - (cum[rows, col(t + 1)] - cum[rows, col(start)]))
    prev_end = start - 1
    prev_start = np.maximum(0, prev_end - (prev_end + phase) % cycle)
    left = np.maximum(0, level - (cum[rows, col(prev_end + 1)] - cum[rows, col(prev_start)]))
    restock = start == t
    received = np.where(restock, level if t == 0 else level - left, 0)
    _, damaged = _inventory_day(world, t)
    damaged = np.where(on_hand > 0, damaged, 0)
    n = len(level)
    upd = (world.base_day + t) * DAY + 23 * 3600 + 30 * 60 + world.inv_store * 60
    return A.table(
        "inventory",
        {
            "store_id": world.inv_store_ids,
            "product_id": world.inv_product_ids,
            "on_hand": pa.array(on_hand, pa.int64()),
            "reorder_point": pa.array(world.inv_rop, pa.int64()),
            "received_qty": pa.array(received, pa.int64()),
            "damaged_qty": pa.array(damaged, pa.int64()),
            "transaction_date": A.repeat(world.day(t).isoformat(), n),
            "updated_at": A.timestamp_strings(upd),
        },
    )
