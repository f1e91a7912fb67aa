"""One day of sales: orders, their lines, payments and shipments, with the late versions
(returns, refunds, shipment outcomes) the day's orders will get.

``sales(world, t)`` draws the day from one random stream, step by step (who buys; where
and when; what; how it ends; how it is paid; how it ships; when it comes back), and
``Sales`` builds each entity's table from the result."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cached_property

import numpy as np
import pyarrow as pa

from retail_platform.lib.simulator import _arrow
from retail_platform.lib.simulator._arrow import SECONDS_PER_DAY
from retail_platform.lib.simulator._calendar import promo, season
from retail_platform.lib.simulator._dimensions import CUSTOMER_ID_WIDTH
from retail_platform.lib.simulator._random import uniform
from retail_platform.lib.simulator._world import CATEGORIES, GuidedCDF, Sampler, World

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

QUANTITY = Sampler([0.80, 0.14, 0.04, 0.01, 0.01])
QUANTITY_CHEAP = Sampler([0.50, 0.28, 0.12, 0.06, 0.04])
FAVOURITE_SHARE = (0.50, 0.90)  # range of a customer's share of lines from their favourite category
DISCOUNT_PCT = np.array([0, 5, 10, 15, 20, 30, 40])
_DISCOUNT_WEIGHTS = np.array([0.0, 0.05, 0.06, 0.03, 0.04, 0.015, 0.005])  # ~20% discounted

METHODS = pa.array(["card", "cash", "bank_transfer", "wallet"])
CARD, CASH, BANK_TRANSFER, WALLET = 0, 1, 2, 3
_IN_STORE_METHOD = (np.array([CARD, CASH, WALLET]), Sampler([0.60, 0.25, 0.15]))
_ONLINE_METHOD = (np.array([CARD, WALLET, BANK_TRANSFER]), Sampler([0.65, 0.25, 0.10]))
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
_CARRIER_SHARE = Sampler([c[1] for c in CARRIERS])
_CARRIER_LATE = np.array([c[2] for c in CARRIERS])
_CARRIER_EARLY = np.array([c[3] for c in CARRIERS])
_CARRIER_DAMAGE = np.array([c[4] for c in CARRIERS])
_CARRIER_LOSS = np.array([c[5] for c in CARRIERS])
SERVICE_LEVELS = pa.array(["standard", "express", "next_day"])
_SERVICE_SHARE = Sampler([0.70, 0.22, 0.08])
_PROMISE_DAYS = np.array([4, 2, 1])
_SERVICE_BASE_COST = np.array([499, 999, 1999])  # cents
_SERVICE_COST_SPREAD = np.array([400, 500, 1000])
SHIPMENT_STATUSES = pa.array(["in_transit", "delivered", "lost", "returned"])
IN_TRANSIT, DELIVERED, LOST, RETURNED_TO_SENDER = 0, 1, 2, 3
SHIPMENT_FINAL_MAX_DAYS = 7
RETURN_MAX_DAYS = 20
ORDER_NO_WIDTH = 6  # per day: "O-20250101-000001"

BUYER_BLOCK_DAYS = 64  # the buyers' rate table is built for this many days at once


# ----------------------------------------------------------------------------- the day's sales


@dataclass
class Sales:
    """One day of sales as column arrays; tables are built on demand. Orders are
    numbered 1..n in time order; the other arrays index them from 0."""

    world: World
    t: int
    orders: PlacedOrders
    final_status: np.ndarray  # per order: completed, cancelled or returned
    first_status_at: np.ndarray  # per order: updated_at of its first version
    return_at: np.ndarray  # per order: when it comes back if returned, else 0
    lines: OrderLines
    payments: PaymentRows
    shipments: Shipments

    @cached_property
    def tdate(self) -> str:
        """The day as ``YYYY-MM-DD``."""
        return self.world.day(self.t).isoformat()

    @property
    def n_orders(self) -> int:
        return len(self.orders.customer)

    @property
    def n_lines(self) -> int:
        return len(self.lines.order)

    @cached_property
    def order_no(self) -> np.ndarray:
        return np.arange(1, self.n_orders + 1)

    def _prefix(self, kind: str) -> str:
        """``<kind>-YYYYMMDD-``: the day's ids are this prefix and the order number."""
        return f"{kind}-{self.tdate.replace('-', '')}-"

    @cached_property
    def _order_id_matrix(self) -> np.ndarray:
        return _arrow.id_matrix(self._prefix("O"), self.order_no, ORDER_NO_WIDTH)

    def order_ids(self, rows: np.ndarray) -> pa.Array:
        return _arrow.matrix_strings(np.take(self._order_id_matrix, rows, axis=0))

    def orders_table(self, rows: np.ndarray, final: bool) -> pa.Table:
        """Order rows ``rows``; ``final`` gives returned orders their returned version."""
        orders = self.orders
        status = self.final_status[rows].copy()
        updated_at = self.first_status_at[rows].copy()
        if final:
            returned = status == RETURNED
            updated_at[returned] = self.return_at[rows][returned]
        else:
            status[status == RETURNED] = COMPLETED
        employee = orders.employee[rows]
        has_employee = employee >= 0
        return _arrow.table(
            "orders",
            {
                "order_id": self.order_ids(rows),
                "customer_id": _arrow.fixed_ids("C", orders.customer[rows] + 1, CUSTOMER_ID_WIDTH),
                "store_id": _arrow.take(self.world.store_ids, orders.store[rows]),
                "employee_id": _arrow.take(
                    self.world.employee_ids, np.where(has_employee, employee, 0), has_employee
                ),
                "channel": _arrow.take(CHANNELS, orders.online[rows].astype(np.int64)),
                "status": _arrow.take(ORDER_STATUSES, status),
                "ordered_at": _arrow.timestamp_strings(orders.ordered_at[rows]),
                "transaction_date": _arrow.repeat(self.tdate, len(rows)),
                "updated_at": _arrow.timestamp_strings(updated_at),
            },
        )

    def items_table(self) -> pa.Table:
        lines = self.lines
        updated_at = _arrow.timestamp_matrix(self.first_status_at)[lines.order]
        return _arrow.table(
            "order_items",
            {
                "order_id": self.order_ids(lines.order),
                "line_no": pa.array(lines.line_no, pa.int64()),
                "product_id": _arrow.take(self.world.product_ids, lines.product),
                "quantity": pa.array(lines.quantity, pa.int64()),
                "unit_price": _arrow.decimals(lines.unit_price),
                "discount_rate": _arrow.decimals(lines.discount_pct, _arrow.RATE),
                "line_amount": _arrow.decimals(lines.cents),
                "transaction_date": _arrow.repeat(self.tdate, self.n_lines),
                "updated_at": _arrow.matrix_strings(updated_at),
            },
        )

    def payments_table(self, rows: np.ndarray) -> pa.Table:
        payments = self.payments
        orders = payments.order[rows]
        return _arrow.table(
            "payments",
            {
                "payment_id": _payment_ids(
                    self._prefix("PAY"), self.order_no[orders], payments.suffix[rows]
                ),
                "order_id": self.order_ids(orders),
                "method": _arrow.take(METHODS, payments.method[rows]),
                "status": _arrow.take(PAYMENT_STATUSES, payments.status[rows]),
                "amount": _arrow.decimals(self.lines.order_cents[orders]),
                "attempt": pa.array(payments.attempt[rows], pa.int64()),
                "paid_at": _arrow.timestamp_strings(payments.paid_at[rows]),
                "transaction_date": _arrow.repeat(self.tdate, len(rows)),
                "updated_at": _arrow.timestamp_strings(payments.paid_at[rows]),
            },
        )

    def shipments_table(self, rows: np.ndarray, final: bool) -> pa.Table:
        """Shipment rows ``rows``: in transit, or (``final``) as they ended."""
        shipments = self.shipments
        n = len(rows)
        orders = shipments.order[rows]
        if final:
            status = shipments.final_status[rows]
            delivered = status == DELIVERED
            delivered_at = _arrow.timestamp_strings(
                np.where(delivered, shipments.delivered_at[rows], 0), delivered
            )
            damaged = shipments.damaged[rows]
            updated_at = shipments.final_at[rows]
        else:
            status = np.full(n, IN_TRANSIT)
            delivered_at = pa.nulls(n, pa.string())
            damaged = np.zeros(n, bool)
            updated_at = shipments.shipped_at[rows]
        return _arrow.table(
            "shipments",
            {
                "shipment_id": _arrow.fixed_ids(
                    self._prefix("SHP"), self.order_no[orders], ORDER_NO_WIDTH
                ),
                "order_id": self.order_ids(orders),
                "carrier": _arrow.take(CARRIER_NAMES, shipments.carrier[rows]),
                "service_level": _arrow.take(SERVICE_LEVELS, shipments.service[rows]),
                "shipped_at": _arrow.timestamp_strings(shipments.shipped_at[rows]),
                "promised_on": _arrow.date_strings(shipments.promised_day[rows]),
                "delivered_at": delivered_at,
                "status": _arrow.take(SHIPMENT_STATUSES, status),
                "damaged": pa.array(damaged, pa.bool_()),
                "cost": _arrow.decimals(shipments.cost[rows]),
                "transaction_date": _arrow.repeat(self.tdate, n),
                "updated_at": _arrow.timestamp_strings(updated_at),
            },
        )


def _payment_ids(prefix: str, numbers: np.ndarray, suffix: np.ndarray) -> pa.Array:
    """``PAY-YYYYMMDD-NNNNNN-<1|2|R>``: the order number plus the payment's sequence."""
    ids = _arrow.id_matrix(prefix, numbers, ORDER_NO_WIDTH, extra=2)
    ids[:, -2] = ord("-")
    ids[:, -1] = suffix
    return _arrow.matrix_strings(ids)


def sales(world: World, t: int, orders_per_day: int | None = None) -> Sales:
    """Day ``t``'s sales at an average of ``orders_per_day`` orders (``None``: the volume
    the world is sized for). The buyers are customers of the world signed up by ``t``,
    whatever the volume: a busier day means more orders, not other customers.

    Every step draws from the day's one random stream, in this order."""
    day = _Day(world, t)
    rng = world.rng("sales", t)
    volume = world.orders_per_day if orders_per_day is None else orders_per_day
    placed = _place_orders(day, _order_count(rng, day.date, volume), rng)
    lines = _order_lines(day, placed, rng)
    status = _final_statuses(placed.online, rng)
    attempts = _payment_attempts(day, placed, status, rng)
    shipping = _shipping(day, placed, status, rng)
    return_at = _return_times(day, placed, status, shipping, rng)
    return Sales(
        world=world,
        t=t,
        orders=placed,
        final_status=status,
        first_status_at=attempts.first_status_at,
        return_at=return_at,
        lines=lines,
        payments=_payment_rows(attempts, status, return_at),
        shipments=shipping,
    )


@dataclass(frozen=True)
class _Day:
    world: World
    t: int

    @property
    def date(self) -> date:
        return self.world.day(self.t)

    @property
    def start(self) -> int:
        """Midnight (UTC), in seconds since the Unix epoch."""
        return (self.world.base_day + self.t) * SECONDS_PER_DAY

    @property
    def last_second(self) -> int:
        return self.start + SECONDS_PER_DAY - 1


def _order_count(rng: np.random.Generator, day: date, orders_per_day: int) -> int:
    """The day's orders: Poisson around the seasonal average, with some day-to-day noise."""
    if orders_per_day <= 0:
        return 0
    return int(rng.poisson(orders_per_day * season(day) * np.exp(rng.normal(0.0, 0.05))))


# ----------------------------------------------------------------------------- who buys


def _discount_sampler(level: float) -> Sampler:
    sampler = _DISCOUNT_SAMPLERS.get(level)
    if sampler is None:
        weights = _DISCOUNT_WEIGHTS * level
        weights[0] = 1.0 - weights[1:].sum()
        sampler = _DISCOUNT_SAMPLERS[level] = Sampler(weights)
    return sampler


_DISCOUNT_SAMPLERS: dict[float, Sampler] = {}


@dataclass(frozen=True)
class _Buyers:
    """The customers who can buy during a block of days (ascending), with the
    cumulative sum of their purchase rates."""

    customer: np.ndarray
    signup_day: np.ndarray
    rate_cdf: np.ndarray
    find_in_cdf: GuidedCDF
    leave_day: np.ndarray
    inverse_decline_days: np.ndarray


def _buyers_of_block(world: World, block: int) -> _Buyers:
    cache = world.cache("buyers")
    buyers = cache.get(block)
    if buyers is None:
        first, stop = block * BUYER_BLOCK_DAYS, (block + 1) * BUYER_BLOCK_DAYS
        customers = world.customers
        customers.ensure(stop - 1)
        signed_up = customers.bounds[stop]
        active = np.flatnonzero(customers.col("leave_day", signed_up) > first)
        rate_cdf = np.cumsum(customers.col("purchase_rate")[active])
        buyers = _Buyers(
            customer=active,
            signup_day=customers.col("signup_day")[active],
            rate_cdf=rate_cdf,
            find_in_cdf=GuidedCDF(rate_cdf),
            leave_day=customers.col("leave_day")[active].astype(np.float64),
            inverse_decline_days=1.0 / customers.col("decline_days")[active],
        )
        if len(cache) > 4:
            cache.clear()
        cache[block] = buyers
    return buyers


def _repeat_buyers(world: World, t: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` buyers among customers signed up by ``t``, with probability proportional to
    purchase rate x activity, where activity falls linearly to 0 over the last
    ``decline_days`` of the customer's lifetime. Rejection sampling from the block's
    static rate CDF."""
    if n <= 0:
        return np.empty(0, np.int64)
    buyers = _buyers_of_block(world, t // BUYER_BLOCK_DAYS)
    signed_up = int(np.searchsorted(buyers.signup_day, t, side="right"))
    if not signed_up or buyers.rate_cdf[signed_up - 1] <= 0:
        return np.empty(0, np.int64)
    total = buyers.rate_cdf[signed_up - 1]
    chosen: list[np.ndarray] = []
    needed = n
    for _ in range(50):
        tries = int(needed * 1.3) + 16
        position = np.minimum(buyers.find_in_cdf(np.sort(rng.random(tries)) * total), signed_up - 1)
        activity = (buyers.leave_day[position] - t) * buyers.inverse_decline_days[position]
        accepted = position[rng.random(tries) < np.clip(activity, 0.0, 1.0)][:needed]
        chosen.append(accepted)
        needed -= len(accepted)
        if not needed:
            break
    return buyers.customer[np.sort(np.concatenate(chosen))]


@dataclass(frozen=True)
class PlacedOrders:
    """The day's orders in time order: who, online or in which store, when, sold by whom
    (-1: online)."""

    customer: np.ndarray
    online: np.ndarray
    store: np.ndarray
    ordered_at: np.ndarray
    employee: np.ndarray


def _place_orders(day: _Day, n: int, rng: np.random.Generator) -> PlacedOrders:
    """Up to ``n`` orders: first the day's sign-ups who buy at once (minutes after
    signing up), the rest from earlier customers."""
    customers = day.world.customers
    customers.ensure(day.t)
    first, stop = customers.bounds[day.t], customers.bounds[day.t + 1]
    new_buyers = first + np.flatnonzero(customers.col("buys_on_signup", stop)[first:stop])
    new_buyers = new_buyers[:n]
    repeat_buyers = _repeat_buyers(day.world, day.t, n - len(new_buyers), rng)
    customer = np.concatenate([new_buyers, repeat_buyers]).astype(np.int64)
    n = len(customer)

    online = rng.random(n) < customers.col("online_share", stop)[customer]
    home_store = customers.col("home_store", stop)[customer]
    other_store = day.world.sample_store.draw(rng, n)
    store = np.where(online | (rng.random(n) < 0.85), home_store, other_store).astype(np.int64)
    hour = np.empty(n, np.int64)
    hour[online] = ONLINE_HOUR.draw(rng, int(online.sum()))
    hour[~online] = IN_STORE_HOUR.draw(rng, n - int(online.sum()))
    second = hour * 3600 + rng.integers(0, 3600, n)
    n_new = len(new_buyers)
    signed_up_at = customers.col("signup_second", stop)[new_buyers]
    second[:n_new] = np.minimum(signed_up_at + rng.integers(60, 1800, n_new), SECONDS_PER_DAY - 1)
    order = np.argsort(second, kind="stable")
    customer, online, store, second = customer[order], online[order], store[order], second[order]
    seller = day.world.pick_seller(store, rng.random(n))
    return PlacedOrders(
        customer=customer,
        online=online,
        store=store,
        ordered_at=day.start + second,
        employee=np.where(online, -1, seller),
    )


# ----------------------------------------------------------------------------- what they buy


@dataclass(frozen=True)
class OrderLines:
    order: np.ndarray  # index of the line's order
    line_no: np.ndarray  # 1.. within the order
    product: np.ndarray
    quantity: np.ndarray
    unit_price: np.ndarray  # cents
    discount_pct: np.ndarray
    cents: np.ndarray  # the line's amount
    order_cents: np.ndarray  # per order: the sum of its lines


def _order_lines(day: _Day, placed: PlacedOrders, rng: np.random.Generator) -> OrderLines:
    world = day.world
    n_orders = len(placed.customer)
    basket_size = world.customers.col("basket_size")[placed.customer]
    lines_per_order = 1 + np.minimum(5, rng.poisson(2.0 * np.sqrt(basket_size)))
    total = int(lines_per_order.sum())
    starts = (np.cumsum(lines_per_order) - lines_per_order).astype(np.int64)
    product = world.sample_product.draw(rng, total)
    product = _favourite_category_lines(day, placed.customer, lines_per_order, product)
    cheap = world.cheap[product]
    quantity = np.empty(total, np.int64)
    quantity[cheap] = 1 + QUANTITY_CHEAP.draw(rng, int(cheap.sum()))
    quantity[~cheap] = 1 + QUANTITY.draw(rng, total - int(cheap.sum()))
    discount = DISCOUNT_PCT[_discount_sampler(promo(day.date)).draw(rng, total)]
    unit_price = world.prices_on(day.t)[product]
    # round half away from zero on exact integers: (q * cents * (100 - pct)) / 100
    cents = (quantity * unit_price * (100 - discount) + 50) // 100
    return OrderLines(
        order=np.repeat(np.arange(n_orders), lines_per_order),
        line_no=np.arange(total) - np.repeat(starts, lines_per_order) + 1,
        product=product,
        quantity=quantity,
        unit_price=unit_price,
        discount_pct=discount,
        cents=cents,
        order_cents=np.add.reduceat(cents, starts) if n_orders else np.empty(0, np.int64),
    )


def favourite_categories(world: World, customer: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(favourite category, share of lines from it) of each customer: closed-form per
    customer, so the same on every day and no other draw moves. The category is drawn by
    the categories' shares of the catalogue; the share is uniform in FAVOURITE_SHARE."""
    base = world.key("customer-affinity")
    shares = np.cumsum([c[4] for c in CATEGORIES])
    category = np.searchsorted(shares / shares[-1], uniform(base, customer, 0), side="right")
    category = np.minimum(category, len(CATEGORIES) - 1)
    return category, FAVOURITE_SHARE[0] + np.ptp(FAVOURITE_SHARE) * uniform(base, customer, 1)


def _favourite_category_lines(
    day: _Day, customer: np.ndarray, lines_per_order: np.ndarray, product: np.ndarray
) -> np.ndarray:
    """Each line of an order of ``customer`` (one per order) is, with the customer's
    favourite share, a product of their favourite category instead of one drawn from the
    whole catalogue: what makes purchases personal, so that recommendations can be
    learned. Drawn from a stream of its own, so the day's other draws stay as they were."""
    world = day.world
    rng = world.rng("favourite-category-lines", day.t)
    category, share = favourite_categories(world, customer)  # per order, then per line
    category, share = np.repeat(category, lines_per_order), np.repeat(share, lines_per_order)
    from_favourite = np.flatnonzero(rng.random(len(product)) < share)
    # The lines of each category in line order (a stable sort by category), drawn category
    # by category.
    chosen = category[from_favourite]
    by_category = from_favourite[np.argsort(chosen, kind="stable")]
    counts = np.bincount(chosen, minlength=len(world.category_products))
    starts = np.cumsum(counts) - counts
    product = product.copy()
    for index, members in enumerate(world.category_products):
        lines = by_category[starts[index] : starts[index] + counts[index]]
        product[lines] = members[world.sample_in_category[index].draw(rng, len(lines))]
    return product


def _final_statuses(online: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """How each order ends: completed, cancelled (the same day) or returned (later)."""
    u = rng.random(len(online))
    p_cancel = np.where(online, P_CANCEL[1], P_CANCEL[0])
    p_return = np.where(online, P_RETURN[1], P_RETURN[0])
    return np.where(u < p_cancel, CANCELLED, np.where(u < p_cancel + p_return, RETURNED, COMPLETED))


# ----------------------------------------------------------------------------- payments


@dataclass(frozen=True)
class _PaymentAttempts:
    """Per order: how it is paid and what happens the day it is placed. A cancelled
    order's payment is either declined (once or twice) or refunded."""

    method: np.ndarray
    first_at: np.ndarray
    retry_at: np.ndarray
    fails_first: np.ndarray  # the first attempt fails, the retry succeeds
    declined: np.ndarray
    declined_twice: np.ndarray
    refunded_on_cancel: np.ndarray
    cancel_at: np.ndarray
    first_status_at: np.ndarray  # the order's first version: cancelled_at or ordered_at


def _payment_attempts(
    day: _Day, placed: PlacedOrders, status: np.ndarray, rng: np.random.Generator
) -> _PaymentAttempts:
    n, online = len(status), placed.online
    cancelled = status == CANCELLED
    method = np.empty(n, np.int64)
    method[online] = _ONLINE_METHOD[0][_ONLINE_METHOD[1].draw(rng, int(online.sum()))]
    method[~online] = _IN_STORE_METHOD[0][_IN_STORE_METHOD[1].draw(rng, n - int(online.sum()))]
    first_at = np.minimum(placed.ordered_at + rng.integers(5, 90, n), day.last_second)
    retry_at = np.minimum(first_at + rng.integers(60, 600, n), day.last_second)
    fails_first = (rng.random(n) < FAIL_RATE[method]) & ~cancelled
    declined = cancelled & (method != CASH) & (rng.random(n) < 0.6)
    declined_twice = declined & (rng.random(n) < 0.3)
    last_declined_at = np.where(declined_twice, retry_at, first_at)
    cancel_at = np.where(
        declined,
        last_declined_at + rng.integers(30, 300, n),
        first_at + rng.integers(300, 7200, n),
    )
    cancel_at = np.minimum(cancel_at, day.last_second)
    return _PaymentAttempts(
        method=method,
        first_at=first_at,
        retry_at=retry_at,
        fails_first=fails_first,
        declined=declined,
        declined_twice=declined_twice,
        refunded_on_cancel=cancelled & ~declined,
        cancel_at=cancel_at,
        first_status_at=np.where(cancelled, cancel_at, placed.ordered_at),
    )


@dataclass(frozen=True)
class PaymentRows:
    """Every payment row, by order then attempt 1, retry, refund."""

    order: np.ndarray
    suffix: np.ndarray  # of the payment id: ord("1"), ord("2") or ord("R")
    method: np.ndarray
    status: np.ndarray
    attempt: np.ndarray
    paid_at: np.ndarray
    is_return_refund: np.ndarray  # lands late, with the return


def _payment_rows(
    attempts: _PaymentAttempts, status: np.ndarray, return_at: np.ndarray
) -> PaymentRows:
    """Attempt 1 for every order, the retries, the refunds of cancelled and returned orders."""
    n = len(status)
    orders = np.arange(n)
    retried = attempts.fails_first | attempts.declined_twice
    refunded_cancel = attempts.refunded_on_cancel
    refunded_return = status == RETURNED
    n_retried = int(retried.sum())
    n_refunds = int(refunded_cancel.sum()) + int(refunded_return.sum())
    order = np.concatenate(
        [orders, orders[retried], orders[refunded_cancel], orders[refunded_return]]
    )
    suffix = np.concatenate(
        [np.full(n, ord("1")), np.full(n_retried, ord("2")), np.full(n_refunds, ord("R"))]
    ).astype(np.uint8)
    first_failed = attempts.fails_first | attempts.declined
    payment_status = np.concatenate(
        [
            np.where(first_failed, FAILED, SUCCEEDED),
            np.where(attempts.declined_twice[retried], FAILED, SUCCEEDED),
            np.full(n_refunds, REFUNDED),
        ]
    )
    attempt = np.concatenate(
        [np.ones(n, np.int64), np.full(n_retried, 2), np.ones(n_refunds, np.int64)]
    )
    paid_at = np.concatenate(
        [
            attempts.first_at,
            attempts.retry_at[retried],
            attempts.cancel_at[refunded_cancel],
            return_at[refunded_return],
        ]
    )
    is_return_refund = np.concatenate(
        [np.zeros(len(order) - int(refunded_return.sum()), bool),
         np.ones(int(refunded_return.sum()), bool)]
    )  # fmt: skip
    rank = np.where(suffix == ord("1"), 0, np.where(suffix == ord("2"), 1, 2))
    by_order = np.lexsort((rank, order))
    return PaymentRows(
        order=order[by_order],
        suffix=suffix[by_order],
        method=attempts.method[order][by_order],
        status=payment_status[by_order],
        attempt=attempt[by_order],
        paid_at=paid_at[by_order],
        is_return_refund=is_return_refund[by_order],
    )


# ----------------------------------------------------------------------------- shipments


@dataclass(frozen=True)
class Shipments:
    """One shipment per online order that was not cancelled, and how it ends."""

    order: np.ndarray
    carrier: np.ndarray
    service: np.ndarray
    shipped_at: np.ndarray
    promised_day: np.ndarray  # days since the Unix epoch
    final_status: np.ndarray
    delivered_at: np.ndarray
    damaged: np.ndarray
    cost: np.ndarray
    final_at: np.ndarray
    will_return: np.ndarray  # the order is returned


def _shipping(
    day: _Day, placed: PlacedOrders, status: np.ndarray, rng: np.random.Generator
) -> Shipments:
    order = np.flatnonzero(placed.online & (status != CANCELLED))
    m = len(order)
    carrier = _CARRIER_SHARE.draw(rng, m)
    service = _SERVICE_SHARE.draw(rng, m)
    shipped_at = np.minimum(
        placed.ordered_at[order] + rng.integers(1800, 6 * 3600, m), day.last_second
    )
    ship_day = shipped_at // SECONDS_PER_DAY
    promise = _PROMISE_DAYS[service]
    promised_day = ship_day + promise
    early = (promise >= 2) & (rng.random(m) < _CARRIER_EARLY[carrier])
    u_late = rng.random(m)
    late = u_late < _CARRIER_LATE[carrier]
    delay = np.where(late, 1 + (u_late < 0.4 * _CARRIER_LATE[carrier]), 0)
    delay = delay + (late & (rng.random(m) < 0.15))
    transit_days = promise - early + delay
    delivered_at = (ship_day + transit_days) * SECONDS_PER_DAY + rng.integers(
        9 * 3600, 20 * 3600, m
    )
    will_return = status[order] == RETURNED
    u_outcome = rng.random(m)
    lost = will_return & (u_outcome < 0.10 * _CARRIER_LOSS[carrier])
    sent_back = will_return & ~lost & (u_outcome < 0.10 * _CARRIER_LOSS[carrier] + 0.2)
    final_status = np.where(lost, LOST, np.where(sent_back, RETURNED_TO_SENDER, DELIVERED))
    damaged = (final_status == DELIVERED) & (rng.random(m) < _CARRIER_DAMAGE[carrier])
    lost_at = (promised_day + 3) * SECONDS_PER_DAY + rng.integers(8 * 3600, 18 * 3600, m)
    sent_back_at = shipped_at + rng.integers(3 * SECONDS_PER_DAY, 6 * SECONDS_PER_DAY, m)
    final_at = np.where(lost, lost_at, np.where(sent_back, sent_back_at, delivered_at))
    cost = (
        _SERVICE_BASE_COST[service]
        + rng.integers(0, _SERVICE_COST_SPREAD[service])
        + np.rint(_CARRIER_LATE[carrier] * -400).astype(np.int64)
    )
    return Shipments(
        order=order,
        carrier=carrier,
        service=service,
        shipped_at=shipped_at,
        promised_day=promised_day,
        final_status=final_status,
        delivered_at=delivered_at,
        damaged=damaged,
        cost=np.maximum(cost, 299),
        final_at=final_at,
        will_return=will_return,
    )


def _return_times(
    day: _Day,
    placed: PlacedOrders,
    status: np.ndarray,
    shipping: Shipments,
    rng: np.random.Generator,
) -> np.ndarray:
    """When a returned order comes back: handed in at a store 1-18 days later, or after
    its delivery, or once the carrier gave up; never after ``RETURN_MAX_DAYS``. 0 for
    the other orders."""
    return_at = np.zeros(len(status), np.int64)
    in_store = (status == RETURNED) & ~placed.online
    k = int(in_store.sum())
    return_day = day.start // SECONDS_PER_DAY + rng.integers(1, 19, k)
    return_at[in_store] = return_day * SECONDS_PER_DAY + rng.integers(10 * 3600, 19 * 3600, k)
    returned = shipping.will_return
    k = int(returned.sum())
    after_delivery_day = shipping.delivered_at[returned] // SECONDS_PER_DAY + rng.integers(1, 11, k)
    after_delivery = after_delivery_day * SECONDS_PER_DAY + rng.integers(10 * 3600, 19 * 3600, k)
    after_carrier = shipping.final_at[returned] + rng.integers(3600, 30 * 3600, k)
    was_delivered = shipping.final_status[returned] == DELIVERED
    return_at[shipping.order[returned]] = np.where(was_delivered, after_delivery, after_carrier)
    latest = day.start + RETURN_MAX_DAYS * SECONDS_PER_DAY + SECONDS_PER_DAY - 1
    return np.minimum(return_at, latest)
