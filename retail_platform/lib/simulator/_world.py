"""Seed-only state: stores, employees, the product catalogue with its price schedule,
the customer universe (cohorts by signup day) and inventory parameters.

Everything here is a function of (seed, opened_on, orders_per_day) and is cached
in-process, so generating consecutive days is cheap. ``orders_per_day`` is the volume
the world is sized for (``SimulationConfig.world_volume``), not a day's own volume,
which only sets how many orders that day's customers place. The customer universe grows
lazily one cohort at a time; cohort ``k`` only depends on (seed, k), so the
universe is the same whichever days were asked for first.
"""

from __future__ import annotations

import math
import re
import threading
from datetime import date, timedelta
from functools import lru_cache

import numpy as np
import pyarrow as pa

from retail_platform.lib.simulator import _arrow
from retail_platform.lib.simulator._calendar import season
from retail_platform.lib.simulator._random import key, stream

# ----------------------------------------------------------------------------- constants

REGION_NAMES = ("Northeast", "Southeast", "Midwest", "Southwest", "West", "Northwest")
STORE_SUFFIXES = ("Center", "Plaza", "Mall", "Market", "Commons", "Square", "Outlet")
TIERS = ("bronze", "silver", "gold")
EMAIL_DOMAINS = (
    ("gmail.com", 0.38),
    ("yahoo.com", 0.14),
    ("outlook.com", 0.12),
    ("hotmail.com", 0.10),
    ("icloud.com", 0.10),
    ("aol.com", 0.04),
    ("proton.me", 0.04),
    ("example.net", 0.08),
)

# name, sku code, median price ($), price sigma, catalogue share, popularity boost
CATEGORIES = (
    ("Apparel", "APP", 35.0, 0.5, 0.18, 1.2),
    ("Footwear", "FTW", 80.0, 0.4, 0.08, 0.8),
    ("Electronics", "ELC", 120.0, 0.9, 0.10, 0.7),
    ("Home & Kitchen", "HOM", 40.0, 0.7, 0.14, 1.0),
    ("Beauty", "BTY", 18.0, 0.5, 0.12, 1.3),
    ("Sports & Outdoors", "SPT", 45.0, 0.7, 0.08, 0.8),
    ("Toys & Games", "TOY", 25.0, 0.6, 0.08, 0.9),
    ("Grocery", "GRO", 6.0, 0.5, 0.14, 2.0),
    ("Books", "BOK", 16.0, 0.3, 0.08, 0.8),
)
NOUNS = {
    "Apparel": ("T-Shirt", "Hoodie", "Jeans", "Jacket", "Sweater", "Dress", "Shorts", "Polo"),
    "Footwear": ("Sneakers", "Boots", "Sandals", "Loafers", "Runners", "Slippers"),
    "Electronics": ("Headphones", "Speaker", "Charger", "Smartwatch", "Tablet", "Camera"),
    "Home & Kitchen": ("Skillet", "Blender", "Towel Set", "Lamp", "Cutlery Set", "Mug"),
    "Beauty": ("Shampoo", "Face Cream", "Lip Balm", "Perfume", "Serum", "Body Lotion"),
    "Sports & Outdoors": ("Yoga Mat", "Water Bottle", "Backpack", "Tent", "Dumbbell"),
    "Toys & Games": ("Puzzle", "Board Game", "Building Set", "Plush Toy", "Card Game"),
    "Grocery": ("Coffee Beans", "Olive Oil", "Granola", "Dark Chocolate", "Green Tea", "Pasta"),
    "Books": ("Novel", "Cookbook", "Travel Guide", "Biography", "Notebook"),
}
ADJECTIVES = (
    "Classic", "Essential", "Premium", "Urban", "Everyday", "Pro", "Eco", "Heritage",
    "Lite", "Deluxe", "Signature", "Active", "Compact", "Organic", "Vintage", "Smart",
)  # fmt: skip

N_PRODUCTS = 300
PRICE_HORIZON_DAYS = 20 * 366  # price changes are scheduled this far; constant afterwards
MIN_PRICE_GAP = 20

ACTIVE_PER_DAILY_ORDER = 30  # active customers per average daily order
SHORT_SHARE, SHORT_MIN, SHORT_MEAN = 0.35, 20, 60.0  # one-or-few-timers
LONG_MIN, LONG_MEAN = 30, 600.0
MEAN_LIFETIME = SHORT_SHARE * (SHORT_MIN + SHORT_MEAN) + (1 - SHORT_SHARE) * (LONG_MIN + LONG_MEAN)
BUYS_ON_SIGNUP = 0.6

INVENTORY_WINDOW = 28  # >= 2 x the longest restock cycle

#: What changes about a customer over time, in the order of their random draws.
CHANGING_ATTRIBUTES = ("email", "city", "tier")


# ----------------------------------------------------------------------------- helpers


def _cdf(weights: np.ndarray) -> np.ndarray:
    c = np.cumsum(np.asarray(weights, dtype=np.float64))
    return c / c[-1]


def pick(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF sampling: indices into ``cdf`` for uniforms ``u``."""
    return np.minimum(np.searchsorted(cdf, u, side="right"), len(cdf) - 1)


class Sampler:
    """Exact inverse-CDF sampling of a small discrete distribution, via a 2^16-bucket
    lookup table (a binary search only for the few buckets that straddle a boundary)."""

    BITS = 16

    def __init__(self, weights) -> None:
        self.cdf = _cdf(weights)
        size = 1 << self.BITS
        edges = np.arange(size + 1) / size
        lo = pick(self.cdf, edges[:-1])
        hi = pick(self.cdf, np.nextafter(edges[1:], 0))
        self.table = np.where(lo == hi, lo, -1).astype(np.int32)  # -1: straddling bucket

    def _resolve(self, out: np.ndarray, u_of) -> np.ndarray:
        mixed = out < 0
        if mixed.any():
            out[mixed] = pick(self.cdf, u_of(mixed))
        return out

    def __call__(self, u: np.ndarray) -> np.ndarray:
        """Indices for given uniforms ``u``."""
        out = np.take(self.table, (u * (1 << self.BITS)).astype(np.int64))
        return self._resolve(out, lambda m: u[m])

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` indices: a uniform bucket, refined by a uniform within the bucket only
        where the bucket straddles a CDF boundary."""
        bucket = rng.integers(0, 1 << self.BITS, n, dtype=np.int32)
        out = np.take(self.table, bucket)
        scale = 1.0 / (1 << self.BITS)
        return self._resolve(out, lambda m: (bucket[m] + rng.random(int(m.sum()))) * scale)


class GuidedCDF:
    """Inverse-CDF lookups in a large, static, increasing CDF: a guide table maps each
    of 2^18 equal slices of the value range to the first candidate index, and a short
    vectorised walk finishes the job. Same answers as ``searchsorted(side="right")``."""

    BITS = 18

    def __init__(self, cdf: np.ndarray) -> None:
        self.cdf = cdf
        self.top = float(cdf[-1]) if len(cdf) else 0.0
        size = 1 << self.BITS
        self.scale = size / self.top if self.top > 0 else 0.0
        edges = np.arange(size) * (self.top / size)
        self.guide = np.searchsorted(cdf, edges, side="right").astype(np.int64)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """For each value ``x`` (0 <= x < top): the first index with cdf > x."""
        bucket = np.minimum((x * self.scale).astype(np.int64), len(self.guide) - 1)
        # one slice back: its edge is surely <= x whatever the float rounding
        position = np.take(self.guide, np.maximum(bucket - 1, 0))
        last = len(self.cdf) - 1
        todo = np.flatnonzero(position < last)
        while len(todo):
            step = self.cdf[position[todo]] <= x[todo]
            todo = todo[step]
            position[todo] += 1
            todo = todo[position[todo] < last]
        return position


def _unique(make, n: int, tries: int = 50) -> list[str]:
    """Up to ``n`` distinct values of ``make()``, in the order first made."""
    seen: dict[str, None] = {}
    for _ in range(n * tries):
        if len(seen) >= n:
            break
        seen.setdefault(make(), None)
    return list(seen)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower()) or "x"


def _round_price(dollars: np.ndarray) -> np.ndarray:
    """Shelf prices in cents: x.99 above $10, x.49/x.99 below."""
    big = np.maximum(np.rint(dollars), 10) * 100 - 1
    small = np.maximum(np.rint(dollars * 2), 1) * 50 - 1
    return np.where(dollars >= 9.75, big, small).astype(np.int64)


# ----------------------------------------------------------------------------- customers


class Customers:
    """The customer universe as growable column arrays, ordered by signup day.

    Every column holds one value per customer; days are day indexes (days since the shop
    opened), names, domains, stores and cities are indexes into the world's pools."""

    FIELDS: dict[str, type] = {
        "signup_day": np.int32,
        "leave_day": np.int32,  # the first day the customer no longer buys
        "decline_days": np.float64,  # activity falls to 0 over the last days before leaving
        "purchase_rate": np.float64,
        "basket_size": np.float64,  # more order lines per order
        "home_store": np.int32,
        "online_share": np.float64,
        "first_name": np.int32,
        "last_name": np.int32,
        "email_domain": np.int32,
        "city_slot": np.int32,  # the home city's place in its region's pool of cities
        "city_move_step": np.int32,  # how many places a move goes along that pool
        "signup_tier": np.int8,
        **{f"{attribute}_change_scale": np.float64 for attribute in CHANGING_ATTRIBUTES},
        **{f"{attribute}_change_phase": np.float64 for attribute in CHANGING_ATTRIBUTES},
        "signup_second": np.int32,  # second of the signup day
        "buys_on_signup": np.bool_,
    }

    def __init__(self, world: World) -> None:
        self._world = world
        self._lock = threading.Lock()
        self._capacity = 0
        self._columns: dict[str, np.ndarray] = {
            name: np.empty(0, dtype) for name, dtype in self.FIELDS.items()
        }
        self.bounds: list[int] = [0]  # cohort k occupies bounds[k]:bounds[k + 1]

    @property
    def size(self) -> int:
        return self.bounds[-1]

    def col(self, name: str, upto: int | None = None) -> np.ndarray:
        return self._columns[name][: self.size if upto is None else upto]

    def ensure(self, t: int) -> None:
        """Make sure cohorts 0..t exist."""
        if len(self.bounds) - 1 > t:
            return
        with self._lock:
            while len(self.bounds) - 1 <= t:
                self._append(self._world.cohort(len(self.bounds) - 1))

    def _append(self, cohort: dict[str, np.ndarray]) -> None:
        n = len(cohort["signup_day"])
        size = self.size
        if size + n > self._capacity:
            capacity = max(2 * self._capacity, size + n, 1024)
            for name, column in self._columns.items():
                grown = np.empty(capacity, column.dtype)
                grown[:size] = column[:size]
                self._columns[name] = grown
            self._capacity = capacity
        for name, column in self._columns.items():
            column[size : size + n] = cohort[name]
        self.bounds.append(size + n)


# ----------------------------------------------------------------------------- world


class World:
    """All seed-only state; build with ``get_world``. ``t`` is a day index: days since
    the shop opened (``day(t)`` is its date)."""

    def __init__(self, seed: int, opened_on: date, orders_per_day: int) -> None:
        self.seed = seed
        self.opened_on = opened_on
        self.orders_per_day = orders_per_day
        self.base_day = _arrow.epoch_day(opened_on)
        #: Caches of the day generators, by name (customer changes, buyers, inventory):
        #: they belong to one world, and go with it.
        self.caches: dict[str, dict] = {}

    def rng(self, *parts: int | str) -> np.random.Generator:
        return stream(self.seed, *parts)

    def key(self, *parts: int | str) -> int:
        return key(self.seed, *parts)

    def day(self, t: int) -> date:
        return self.opened_on + timedelta(days=int(t))

    def cache(self, name: str) -> dict:
        return self.caches.setdefault(name, {})

    # .................................................................. construction
    def build(self) -> World:
        from faker import Faker

        fake = Faker("en_US")
        fake.seed_instance(self.seed)
        rng = self.rng("world")

        first_names = _unique(fake.first_name, 600)
        last_names = _unique(fake.last_name, 600)
        self.first_names = pa.array(first_names)
        self.last_names = pa.array(last_names)
        self.first_slugs = pa.array([_slug(name) for name in first_names])
        self.last_slugs = pa.array([_slug(name) for name in last_names])
        self.email_domains = pa.array([domain for domain, _ in EMAIL_DOMAINS])
        self.email_domain_cdf = _cdf([share for _, share in EMAIL_DOMAINS])

        self._build_stores(fake, rng)
        self._build_employees(rng, first_names, last_names)
        self._build_products(fake)
        self.customers = Customers(self)
        self._build_customer_params()
        self._build_inventory_params()
        return self

    # .................................................................. stores
    def _build_stores(self, fake, rng: np.random.Generator) -> None:
        n_regions = int(rng.integers(3, 6))
        n_stores = int(rng.integers(8, 13))
        regions = list(rng.permutation(REGION_NAMES)[:n_regions])
        store_region = np.concatenate(
            [np.arange(n_regions), rng.integers(0, n_regions, n_stores - n_regions)]
        ).astype(np.int32)
        extra_cities = 4  # per region, besides the stores' own
        cities = _unique(fake.city, n_stores + n_regions * extra_cities)
        self._build_city_pools(store_region, n_regions, extra_cities)
        self.city_names = pa.array(cities)
        self.region_names = pa.array(regions)

        weight = rng.lognormal(0.0, 0.35, n_stores)
        weight[int(np.argmax(weight))] *= 1.3  # a flagship
        opened_days_back = np.sort(rng.integers(30, 12 * 365, n_stores))[::-1]
        self.n_stores = n_stores
        self.store_ids = _arrow.fixed_ids("S", np.arange(1, n_stores + 1), 2)
        self.store_region = store_region
        self.store_city = np.arange(n_stores, dtype=np.int32)  # store s is in city s
        self.store_weight = weight / weight.sum()
        self.store_cdf = _cdf(weight)
        self.sample_store = Sampler(weight)
        suffix = rng.integers(0, len(STORE_SUFFIXES), n_stores)
        self.store_names = pa.array(
            [f"{cities[city]} {STORE_SUFFIXES[s]}" for city, s in enumerate(suffix)]
        )
        self.store_opened = (self.base_day - opened_days_back).astype(np.int64)

    def _build_city_pools(self, store_region: np.ndarray, n_regions: int, extra: int) -> None:
        """Each region's cities (its stores' and ``extra`` more), where its customers live:
        ``region_pool[region, :region_pool_size[region]]`` are city indexes."""
        city_region = np.concatenate([store_region, np.repeat(np.arange(n_regions), extra)])
        pools = [np.flatnonzero(city_region == region) for region in range(n_regions)]
        width = max(len(pool) for pool in pools)
        self.region_pool = np.zeros((n_regions, width), np.int32)
        for region, pool in enumerate(pools):
            self.region_pool[region, : len(pool)] = pool
        self.region_pool_size = np.array([len(pool) for pool in pools], np.int32)

    # .................................................................. employees
    def _build_employees(
        self, rng: np.random.Generator, first_names: list[str], last_names: list[str]
    ) -> None:
        ids, store, names, roles, hired = [], [], [], [], []
        seller_employee, seller_weight, seller_store = [], [], []
        for s in range(self.n_stores):
            n_associates = int(rng.integers(3, 8)) + (1 if self.store_weight[s] > 0.1 else 0)
            n_cashiers = int(rng.integers(1, 3))
            staff = ["store_manager"] + ["sales_associate"] * n_associates
            staff += ["cashier"] * n_cashiers
            hiring_span = max(1, self.base_day - int(self.store_opened[s]))
            for number, role in enumerate(staff, start=1):
                employee = len(ids)
                ids.append(f"E{s + 1:02d}{number:02d}")
                store.append(s)
                first = first_names[rng.integers(len(first_names))]
                names.append(f"{first} {last_names[rng.integers(len(last_names))]}")
                roles.append(role)
                hired.append(self.base_day - int(rng.integers(0, hiring_span)))
                if role != "store_manager":
                    seller_employee.append(employee)
                    seller_store.append(s)
                    seller_weight.append(
                        rng.lognormal(0.0, 0.4) * (1.4 if role == "sales_associate" else 1)
                    )
        self.employee_ids = pa.array(ids)
        self.employee_store = np.array(store, np.int32)
        self.employee_names = pa.array(names)
        self.employee_roles = pa.array(roles)
        self.employee_hired = np.array(hired, np.int64)
        self._build_sellers(seller_employee, seller_weight, seller_store)

    def _build_sellers(self, employee: list, weight: list, store: list) -> None:
        """Who sells in store: the cumulative weights of each store's non-managers, which
        are consecutive, so a store's sellers span ``seller_lo..seller_hi`` of them."""
        self.seller_employee = np.array(employee, np.int64)
        seller_store = np.array(store, np.int64)
        cumulative = np.concatenate([[0.0], np.cumsum(weight)])
        self.seller_cumulative = cumulative
        stores = np.arange(self.n_stores)
        self.seller_start = np.searchsorted(seller_store, stores, side="left")
        self.seller_end = np.searchsorted(seller_store, stores, side="right")
        self.seller_lo = cumulative[self.seller_start]
        self.seller_hi = cumulative[self.seller_end]

    def pick_seller(self, store: np.ndarray, u: np.ndarray) -> np.ndarray:
        """An employee index (non-manager of ``store``) per order, weighted by performance."""
        target = self.seller_lo[store] + u * (self.seller_hi[store] - self.seller_lo[store])
        seller = np.searchsorted(self.seller_cumulative, target, side="right") - 1
        seller = np.clip(seller, self.seller_start[store], self.seller_end[store] - 1)
        return self.seller_employee[seller]

    # .................................................................. products
    def _build_products(self, fake) -> None:
        rng = self.rng("products")
        shares = np.array([c[4] for c in CATEGORIES])
        counts = np.floor(shares / shares.sum() * N_PRODUCTS).astype(int)
        counts[0] += N_PRODUCTS - counts.sum()
        category = np.repeat(np.arange(len(CATEGORIES)), counts)
        category = category[rng.permutation(N_PRODUCTS)]
        brands = _brands(fake, rng)
        names, skus, categories, brand_names = [], [], [], []
        seen: set[str] = set()
        base_dollars = np.empty(N_PRODUCTS)
        for product in range(N_PRODUCTS):
            category_name, code, median, sigma, _, _ = CATEGORIES[category[product]]
            brand = brands[category_name][int(rng.integers(len(brands[category_name])))]
            noun = NOUNS[category_name][int(rng.integers(len(NOUNS[category_name])))]
            adjective = ADJECTIVES[int(rng.integers(len(ADJECTIVES)))]
            name = f"{brand} {adjective} {noun}"
            number = 2
            while name in seen:
                name = f"{brand} {adjective} {noun} {number}"
                number += 1
            seen.add(name)
            names.append(name)
            skus.append(f"{code}-{product + 1:05d}")
            categories.append(category_name)
            brand_names.append(brand)
            base_dollars[product] = median * math.exp(sigma * rng.standard_normal())
        self.n_products = N_PRODUCTS
        self.product_ids = _arrow.fixed_ids("P", np.arange(1, N_PRODUCTS + 1), 4)
        self.product_sku = pa.array(skus)
        self.product_name = pa.array(names)
        self.product_category = pa.array(categories)
        self.product_brand = pa.array(brand_names)
        base_cents = _round_price(base_dollars)
        self.unit_cost = np.rint(base_cents * rng.uniform(0.35, 0.65, N_PRODUCTS)).astype(np.int64)

        boost = np.array([c[5] for c in CATEGORIES])[category]
        rank = rng.permutation(N_PRODUCTS) + 1
        popularity = boost / rank**0.9
        self.popularity = popularity / popularity.sum()
        self.sample_product = Sampler(popularity)
        # A customer's favourite category (Customers: closed-form per customer) draws its
        # products by their popularity within the category.
        self.category_products = [np.flatnonzero(category == c) for c in range(len(CATEGORIES))]
        self.sample_in_category = [Sampler(popularity[p]) for p in self.category_products]
        self._build_price_schedule(rng, base_dollars, base_cents)
        self.cheap = base_cents < 2000

    def _build_price_schedule(
        self, rng: np.random.Generator, base_dollars: np.ndarray, base_cents: np.ndarray
    ) -> None:
        """Version 0 of every price on day 0, then changes every ~90 days per product:
        ``price_cents[product, version]`` is in force from ``price_days[product, version]``."""
        max_versions = PRICE_HORIZON_DAYS // MIN_PRICE_GAP + 2
        gaps = MIN_PRICE_GAP + np.floor(rng.exponential(70.0, (N_PRODUCTS, max_versions - 1)))
        first_change = rng.integers(5, 120, N_PRODUCTS)
        days = np.empty((N_PRODUCTS, max_versions), np.int64)
        days[:, 0] = 0
        days[:, 1:] = first_change[:, None] + np.cumsum(gaps, axis=1) - gaps[:, :1]
        never = np.iinfo(np.int32).max
        days[days > PRICE_HORIZON_DAYS] = never
        used = int((days < never).sum(axis=1).max())
        days = days[:, :used]
        prices = np.empty((N_PRODUCTS, used), np.int64)
        prices[:, 0] = base_cents
        drift = np.zeros(N_PRODUCTS)
        for version in range(1, used):
            drift = 0.6 * drift + rng.normal(0.0, 0.09, N_PRODUCTS)
            clearance = np.where(rng.random(N_PRODUCTS) < 0.12, 0.75, 1.0)
            inflation = 1.0 + 0.025 * np.minimum(days[:, version], PRICE_HORIZON_DAYS) / 365.0
            price = _round_price(base_dollars * np.exp(drift) * clearance * inflation)
            unchanged = price == prices[:, version - 1]
            price = np.where(unchanged, price + np.where(price >= 999, 100, 50), price)
            prices[:, version] = price
        self.price_days = days
        self.price_cents = prices

    def price_version(self, t: int) -> np.ndarray:
        return (self.price_days <= t).sum(axis=1) - 1

    def prices_on(self, t: int) -> np.ndarray:
        """List price (cents) in force on day index ``t`` for every product."""
        return self.price_cents[np.arange(self.n_products), self.price_version(t)]

    # .................................................................. customers
    def _build_customer_params(self) -> None:
        active = ACTIVE_PER_DAILY_ORDER * self.orders_per_day
        self.initial_customers = int(round(active))
        self.signups_per_day = active / MEAN_LIFETIME

    def cohort(self, k: int) -> dict[str, np.ndarray]:
        """Customers who sign up on day index ``k`` (k = 0: the initial base), as the
        columns of ``Customers.FIELDS``."""
        rng = self.rng("cohort", k)
        if k == 0:
            n = self.initial_customers
            short_share = SHORT_SHARE * (SHORT_MIN + SHORT_MEAN) / MEAN_LIFETIME
            short = rng.random(n) < short_share
            life = np.where(short, rng.exponential(SHORT_MEAN, n), rng.exponential(LONG_MEAN, n))
        else:
            n = int(rng.poisson(self.signups_per_day * season(self.day(k))))
            short = rng.random(n) < SHORT_SHARE
            life = np.where(
                short,
                SHORT_MIN + rng.exponential(SHORT_MEAN, n),
                LONG_MIN + rng.exponential(LONG_MEAN, n),
            )
        home_store = pick(self.store_cdf, rng.random(n)).astype(np.int32)
        city_slot = self._city_slots(rng, home_store)
        purchase_rate = rng.gamma(0.9, 1 / 0.9, n)
        basket_size = rng.lognormal(0.0, 0.35, n)
        if k == 0:
            value = purchase_rate * basket_size
            quantile = np.argsort(np.argsort(value)) / max(n - 1, 1)
            signup_tier = np.where(quantile >= 0.92, 2, np.where(quantile >= 0.70, 1, 0))
            signup_second = rng.integers(0, 3600, n)
            buys_on_signup = np.zeros(n, bool)
        else:
            signup_tier = np.zeros(n)
            signup_second = rng.integers(7 * 3600, 23 * 3600, n)
            buys_on_signup = rng.random(n) < BUYS_ON_SIGNUP
        change_scale = rng.uniform(0.5, 1.5, (len(CHANGING_ATTRIBUTES), n))
        change_phase = rng.random((len(CHANGING_ATTRIBUTES), n))
        # the remaining draws, in this order
        decline_days = rng.uniform(60.0, 90.0, n)
        online_share = rng.beta(1.3, 3.2, n)
        first_name = rng.integers(0, len(self.first_names), n)
        last_name = rng.integers(0, len(self.last_names), n)
        email_domain = pick(self.email_domain_cdf, rng.random(n))
        city_move_step = rng.integers(1, 1 << 20, n)
        return {
            "signup_day": np.full(n, k, np.int32),
            "leave_day": (k + np.maximum(1, np.ceil(life))).astype(np.int32),
            "decline_days": decline_days,
            "purchase_rate": purchase_rate,
            "basket_size": basket_size,
            "home_store": home_store,
            "online_share": online_share,
            "first_name": first_name,
            "last_name": last_name,
            "email_domain": email_domain,
            "city_slot": city_slot,
            "city_move_step": city_move_step,
            "signup_tier": signup_tier.astype(np.int8),
            **{f"{a}_change_scale": change_scale[i] for i, a in enumerate(CHANGING_ATTRIBUTES)},
            **{f"{a}_change_phase": change_phase[i] for i, a in enumerate(CHANGING_ATTRIBUTES)},
            "signup_second": signup_second,
            "buys_on_signup": buys_on_signup,
        }

    def _city_slots(self, rng: np.random.Generator, home_store: np.ndarray) -> np.ndarray:
        """Where in its region's pool of cities each customer lives: 70 % in their home
        store's city, the others anywhere in the region."""
        n = len(home_store)
        region = self.store_region[home_store]
        pool_size = self.region_pool_size[region]
        home_city = self.store_city[home_store]
        home_slot = np.argmax(self.region_pool[region] == home_city[:, None], axis=1)
        other_slot = (rng.random(n) * pool_size).astype(np.int32)
        return np.where(rng.random(n) < 0.7, home_slot, other_slot).astype(np.int32)

    # .................................................................. inventory
    def _build_inventory_params(self) -> None:
        """One cell per (store, product): its expected daily demand, restock cycle, phase
        and level, and reorder point."""
        rng = self.rng("inventory-params")
        n_stores, n_products = self.n_stores, self.n_products
        self.inv_store = np.repeat(np.arange(n_stores), n_products)
        self.inv_product = np.tile(np.arange(n_products), n_stores)
        expected_quantity = np.where(self.cheap, 1.8, 1.3)
        demand = (
            self.orders_per_day
            * 3.0
            * self.store_weight[:, None]
            * (self.popularity * expected_quantity)[None, :]
        ).ravel()
        n = len(demand)
        self.inv_lambda = demand
        self.inv_cycle = np.where(demand > 2.0, 7, 14).astype(np.int64)
        self.inv_phase = rng.integers(0, 14, n)
        cover = rng.uniform(0.9, 1.6, n)
        safety = rng.integers(1, 4, n)
        self.inv_level = (np.ceil(demand * self.inv_cycle * cover) + safety).astype(np.int64)
        self.inv_reorder_point = (np.ceil(demand * 3.0) + safety).astype(np.int64)
        self.inv_key = self.key("inventory-noise")
        self.inv_store_ids = _arrow.take(self.store_ids, self.inv_store)
        self.inv_product_ids = _arrow.take(self.product_ids, self.inv_product)
        self.inv_cells = np.arange(n, dtype=np.uint64)


def _brands(fake, rng: np.random.Generator) -> dict[str, list[str]]:
    """3-6 brand names per category."""
    brands = {}
    for category in CATEGORIES:
        names = _unique(fake.last_name, int(rng.integers(3, 7)))
        suffixes = ("", " & Co.", " Goods", " Labs", " Works", " Supply")
        brands[category[0]] = [name + suffixes[int(rng.integers(len(suffixes)))] for name in names]
    return brands


@lru_cache(maxsize=8)
def get_world(seed: int, opened_on: date, orders_per_day: int) -> World:
    return World(seed, opened_on, orders_per_day).build()
