"""The dimension files of one day: stores and employees on the opening day, the product
catalogue then and each day's price changes, and the customers who sign up or change.

Each table is a function of (world, day index ``t``) and the day's own random streams.
A customer's birth date and gender come from a stream of their own, keyed by the customer
(``_demographics``): adults of 18 to 84 on signup, about 6 % without a birth date and 4 %
without a gender (null); adding them moved no other column's draws."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from retail_platform.lib.simulator import _arrow
from retail_platform.lib.simulator._arrow import SECONDS_PER_DAY
from retail_platform.lib.simulator._random import uniform
from retail_platform.lib.simulator._world import CHANGING_ATTRIBUTES, TIERS, Customers, World

CUSTOMER_ID_WIDTH = 8  # "C00000001"
TIER_NAMES = pa.array(TIERS)
CHANGE_BLOCK_DAYS = 64  # customer changes are computed for this many days at once

#: Age at signup: (youngest, oldest) years and share of sign-ups per band, an adult
#: customer base a little older than the population's (retail loyalty programmes).
SIGNUP_AGES = (
    (18, 24, 0.11),
    (25, 34, 0.19),
    (35, 44, 0.19),
    (45, 54, 0.18),
    (55, 64, 0.17),
    (65, 84, 0.16),
)
GENDERS = ("female", "male", "other")
GENDER_SHARES = (0.53, 0.45, 0.02)  # of the customers who give one
NO_BIRTH_DATE = 0.06  # share of customers who leave their birth date out (null)
NO_GENDER = 0.04  # share of customers who leave their gender out (null)
GENDER_NAMES = pa.array(GENDERS)
_DAYS_PER_YEAR = 365.2425


def _start_of_day(world: World, t: int) -> int:
    """Seconds since the Unix epoch at midnight (UTC) of day index ``t``."""
    return (world.base_day + t) * SECONDS_PER_DAY


# ----------------------------------------------------------------------------- opening day


def stores_table(world: World, t: int) -> pa.Table:
    n = world.n_stores
    updated_at = _start_of_day(world, t) + 6 * 3600 + np.arange(n) * 7
    return _arrow.table(
        "stores",
        {
            "store_id": world.store_ids,
            "name": world.store_names,
            "city": _arrow.take(world.city_names, world.store_city),
            "region": _arrow.take(world.region_names, world.store_region),
            "opened_on": _arrow.date_strings(world.store_opened),
            "transaction_date": _arrow.repeat(world.day(t).isoformat(), n),
            "updated_at": _arrow.timestamp_strings(updated_at),
        },
    )


def employees_table(world: World, t: int) -> pa.Table:
    n = len(world.employee_ids)
    updated_at = _start_of_day(world, t) + 6 * 3600 + 600 + np.arange(n) * 3
    return _arrow.table(
        "employees",
        {
            "employee_id": world.employee_ids,
            "store_id": _arrow.take(world.store_ids, world.employee_store),
            "full_name": world.employee_names,
            "role": world.employee_roles,
            "hired_on": _arrow.date_strings(world.employee_hired),
            "transaction_date": _arrow.repeat(world.day(t).isoformat(), n),
            "updated_at": _arrow.timestamp_strings(updated_at),
        },
    )


def products_table(world: World, t: int) -> pa.Table | None:
    """The catalogue on day 0, afterwards one row per product whose price changes on ``t``."""
    product, version = np.nonzero(world.price_days == t)
    if not len(product):
        return None
    order = np.argsort(product, kind="stable")
    product, version = product[order], version[order]
    n = len(product)
    rng = world.rng("products-updated", t)
    updated_at = _start_of_day(world, t) + rng.integers(0, 3 * 3600, n) + 2 * 3600
    return _arrow.table(
        "products",
        {
            "product_id": _arrow.take(world.product_ids, product),
            "sku": _arrow.take(world.product_sku, product),
            "name": _arrow.take(world.product_name, product),
            "category": _arrow.take(world.product_category, product),
            "brand": _arrow.take(world.product_brand, product),
            "list_price": _arrow.decimals(world.price_cents[product, version]),
            "unit_cost": _arrow.decimals(world.unit_cost[product]),
            "transaction_date": _arrow.repeat(world.day(t).isoformat(), n),
            "updated_at": _arrow.timestamp_strings(updated_at),
        },
    )


# ----------------------------------------------------------------------------- customer changes


def _change_schedule(
    customers: Customers, attribute: str, who: np.ndarray, rate: float
) -> tuple[np.ndarray, np.ndarray]:
    """(interval, offset): ``attribute`` of customer ``who[i]`` changes every ``interval``
    days, shifted by ``offset``: on the days ``t > signup`` with ``(t - signup + offset) %
    interval == 0``. The mean change rate over the three attributes is ``rate`` per
    customer and day."""
    scale = customers.col(f"{attribute}_change_scale")[who]
    interval = np.maximum(1, np.rint(scale * 3 * np.log(3) / rate)).astype(np.int64)
    phase = customers.col(f"{attribute}_change_phase")[who]
    return interval, np.floor(phase * interval).astype(np.int64)


def _changes_in_block(world: World, rate: float, block: int) -> tuple[np.ndarray, np.ndarray]:
    """(day, customer) of every change of an active customer within a block of days,
    sorted by day then customer."""
    first, stop = block * CHANGE_BLOCK_DAYS, (block + 1) * CHANGE_BLOCK_DAYS
    customers = world.customers
    customers.ensure(stop - 1)
    signed_up = customers.bounds[stop]  # everybody who signed up before the block ends
    active = np.flatnonzero(customers.col("leave_day", signed_up) > first)
    signup = customers.col("signup_day")[active].astype(np.int64)
    leave = customers.col("leave_day")[active].astype(np.int64)
    days, who = [], []
    for attribute in CHANGING_ATTRIBUTES:
        interval, offset = _change_schedule(customers, attribute, active, rate)
        earliest = np.maximum(first, signup + 1)
        day = earliest + (signup - offset - earliest) % interval
        candidates = np.arange(len(active))  # positions in ``active`` with a change ahead
        while len(candidates):
            limit = np.minimum(stop, leave[candidates])
            changes = day < limit
            days.append(day[changes])
            who.append(active[candidates[changes]])
            again = changes & (day + interval[candidates] < limit)
            candidates, day = candidates[again], (day + interval[candidates])[again]
    pairs = np.unique(np.concatenate(days) * (1 << 32) + np.concatenate(who))
    return pairs >> 32, pairs & ((1 << 32) - 1)


def _customers_changing_on(world: World, rate: float, t: int) -> np.ndarray:
    """The customers with a change on day ``t``, ascending."""
    cache = world.cache("customer-changes")
    block = t // CHANGE_BLOCK_DAYS
    changes = cache.get((rate, block))
    if changes is None:
        if len(cache) > 16:
            cache.clear()
        changes = cache[(rate, block)] = _changes_in_block(world, rate, block)
    days, who = changes
    return who[np.searchsorted(days, t, "left") : np.searchsorted(days, t, "right")]


# ----------------------------------------------------------------------------- customers


@dataclass
class _CustomerVersions:
    """The customer rows of one day: sign-ups first, then changed customers. ``changes``
    holds how many times each row's email, city and tier changed so far (0 for a
    sign-up), one row per attribute of ``CHANGING_ATTRIBUTES``."""

    who: np.ndarray
    signups: int
    changes: np.ndarray

    @property
    def updates(self) -> int:
        return len(self.who) - self.signups


def _customer_versions(world: World, t: int, update_rate: float) -> _CustomerVersions:
    customers = world.customers
    customers.ensure(t)
    first, stop = customers.bounds[t], customers.bounds[t + 1]
    signups = np.arange(first, stop)
    changed = np.empty(0, np.int64)
    changes = np.zeros((len(CHANGING_ATTRIBUTES), 0), np.int64)
    if update_rate > 0 and first > 0:
        changed = _customers_changing_on(world, update_rate, t)
        if len(changed):
            signup = customers.col("signup_day")[changed].astype(np.int64)
            schedules = [
                _change_schedule(customers, attribute, changed, update_rate)
                for attribute in CHANGING_ATTRIBUTES
            ]
            changes = np.stack(
                [(t - signup + offset) // interval for interval, offset in schedules]
            )
    none_yet = np.zeros((len(CHANGING_ATTRIBUTES), len(signups)), np.int64)
    return _CustomerVersions(
        who=np.concatenate([signups, changed]).astype(np.int64),
        signups=len(signups),
        changes=np.concatenate([none_yet, changes], axis=1),
    )


def _emails(world: World, versions: _CustomerVersions) -> pa.Array:
    """``first.last<n>[.<changes>]@domain``: each change moves to the next domain."""
    who, email_changes = versions.who, versions.changes[0]
    customers = world.customers
    suffix = pc.if_else(
        pa.array(email_changes > 0),
        pc.binary_join_element_wise(".", pc.cast(pa.array(email_changes), pa.string()), ""),
        "",
    )
    domain = (customers.col("email_domain")[who] + email_changes) % len(world.email_domains)
    return pc.binary_join_element_wise(
        _arrow.take(world.first_slugs, customers.col("first_name")[who]),
        ".",
        _arrow.take(world.last_slugs, customers.col("last_name")[who]),
        pc.cast(pa.array(who + 1), pa.string()),
        suffix,
        "@",
        _arrow.take(world.email_domains, domain),
        "",
    )


def _cities(world: World, versions: _CustomerVersions, region: np.ndarray) -> np.ndarray:
    """Each move goes ``city_move_step`` places further along the region's pool of cities."""
    who, city_changes = versions.who, versions.changes[1]
    customers = world.customers
    size = world.region_pool_size[region]
    step = 1 + customers.col("city_move_step")[who] % np.maximum(size - 1, 1)
    slot = (customers.col("city_slot")[who] + city_changes * step) % size
    return world.region_pool[region, slot]


def _tiers(world: World, versions: _CustomerVersions) -> np.ndarray:
    """Each change moves one tier up, then back and forth between the top two."""
    steps = world.customers.col("signup_tier")[versions.who].astype(np.int64) + versions.changes[2]
    return np.where(steps <= 2, steps, 2 - (steps - 2) % 2)


def _demographics(world: World, who: np.ndarray) -> tuple[pa.Array, pa.Array]:
    """(birth_date, gender) of customers ``who``: closed-form draws per customer from
    their own keyed stream, so every version of a customer carries the same values and
    no other column's random draws move. The birth date is the signup day minus an age
    drawn by ``SIGNUP_AGES`` (uniform in days within the band)."""
    base = world.key("customer-demographics")
    u_band, u_age, u_gender, u_birth_given, u_gender_given = (
        uniform(base, who, j) for j in range(5)
    )
    bands = np.array(SIGNUP_AGES, dtype=np.float64)
    band = np.searchsorted(np.cumsum(bands[:, 2]) / bands[:, 2].sum(), u_band, side="right")
    band = np.minimum(band, len(bands) - 1)
    youngest = np.ceil(bands[band, 0] * _DAYS_PER_YEAR) + 1  # a day past the birthday
    oldest = np.floor((bands[band, 1] + 1) * _DAYS_PER_YEAR) - 1  # a day before the next
    age_days = (youngest + u_age * (oldest - youngest)).astype(np.int64)
    signup = world.base_day + world.customers.col("signup_day")[who].astype(np.int64)
    birth_date = _arrow.date_strings(signup - age_days, valid=u_birth_given >= NO_BIRTH_DATE)
    shares = np.cumsum(GENDER_SHARES) / sum(GENDER_SHARES)
    gender = np.minimum(np.searchsorted(shares, u_gender, side="right"), len(GENDERS) - 1)
    return birth_date, _arrow.take(GENDER_NAMES, gender, valid=u_gender_given >= NO_GENDER)


def customers_table(world: World, t: int, update_rate: float) -> tuple[pa.Table | None, int]:
    """Sign-ups of day ``t`` plus newer versions of customers whose email, city or
    loyalty tier changes on ``t``. Returns (table, number of update rows)."""
    versions = _customer_versions(world, t, update_rate)
    if not len(versions.who):
        return None, 0
    who, signups = versions.who, versions.signups
    customers = world.customers
    region = world.store_region[customers.col("home_store")[who]]
    signup = customers.col("signup_day")[who].astype(np.int64)
    rng = world.rng("customer-updates", t)
    updated_at = np.concatenate(
        [
            _start_of_day(world, signup[:signups]) + customers.col("signup_second")[who][:signups],
            _start_of_day(world, t) + rng.integers(0, SECONDS_PER_DAY, versions.updates),
        ]
    )
    birth_date, gender = _demographics(world, who)
    table = _arrow.table(
        "customers",
        {
            "customer_id": _arrow.fixed_ids("C", who + 1, CUSTOMER_ID_WIDTH),
            "first_name": _arrow.take(world.first_names, customers.col("first_name")[who]),
            "last_name": _arrow.take(world.last_names, customers.col("last_name")[who]),
            "email": _emails(world, versions),
            "city": _arrow.take(world.city_names, _cities(world, versions, region)),
            "region": _arrow.take(world.region_names, region),
            "loyalty_tier": _arrow.take(TIER_NAMES, _tiers(world, versions)),
            "signup_date": _arrow.date_strings(world.base_day + signup),
            "birth_date": birth_date,
            "gender": gender,
            "transaction_date": _arrow.repeat(world.day(t).isoformat(), len(who)),
            "updated_at": _arrow.timestamp_strings(updated_at),
        },
    )
    return table, versions.updates
