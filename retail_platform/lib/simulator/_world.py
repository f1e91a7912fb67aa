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

from retail_platform.lib.simulator import _arrow as A
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
        pos = np.take(self.guide, np.maximum(bucket - 1, 0))
        last = len(self.cdf) - 1
        todo = np.flatnonzero(pos < last)
        while len(todo):
            p = pos[todo]
            step = self.cdf[p] <= x[todo]
            todo = todo[step]
            pos[todo] += 1
            todo = todo[pos[todo] < last]
        return pos


def _unique(gen, n: int, tries: int = 50) -> list[str]:
    seen: dict[str, None] = {}
    for _ in range(n * tries):
        if len(seen) >= n:
            break
        seen.setdefault(gen(), None)
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
    """The customer universe as growable column arrays, ordered by signup day."""

    FIELDS: dict[str, type] = {
        "signup": np.int32,
        "end": np.int32,
        "wdecl": np.float64,
        "rate": np.float64,
        "spend": np.float64,
        "store": np.int32,
        "online_p": np.float64,
        "first": np.int32,
        "last": np.int32,
        "domain": np.int32,
        "city_pos": np.int32,
        "city_step": np.int32,
        "tier0": np.int8,
        "eu0": np.float64,
        "eu1": np.float64,
        "eu2": np.float64,
        "ph0": np.float64,
        "ph1": np.float64,
        "ph2": np.float64,
        "signup_sec": np.int32,
        "buys_first": np.bool_,
    }

    def __init__(self, world: World) -> None:
        self._world = world
        self._lock = threading.Lock()
        self._cap = 0
        self._cols: dict[str, np.ndarray] = {k: np.empty(0, v) for k, v in self.FIELDS.items()}
        self.bounds: list[int] = [0]  # cohort k occupies bounds[k]:bounds[k + 1]

    @property
    def size(self) -> int:
        return self.bounds[-1]

    def col(self, name: str, upto: int | None = None) -> np.ndarray:
        return self._cols[name][: self.size if upto is None else upto]

    def ensure(self, t: int) -> None:
        """Make sure cohorts 0..t exist."""
        if len(self.bounds) - 1 > t:
            return
        with self._lock:
            while len(self.bounds) - 1 <= t:
                self._append(self._world.cohort(len(self.bounds) - 1))

    def _append(self, cohort: dict[str, np.ndarray]) -> None:
        n = len(cohort["signup"])
        size = self.size
        if size + n > self._cap:
            cap = max(2 * self._cap, size + n, 1024)
            for name, arr in self._cols.items():
                grown = np.empty(cap, arr.dtype)
                grown[:size] = arr[:size]
                self._cols[name] = grown
            self._cap = cap
        for name, arr in self._cols.items():
            arr[size : size + n] = cohort[name]
        self.bounds.append(size + n)


# ----------------------------------------------------------------------------- world


class World:
    """All seed-only state; build with ``get_world``."""

    def __init__(self, seed: int, opened_on: date, orders_per_day: int) -> None:
        self.seed = seed
        self.opened_on = opened_on
        self.orders_per_day = orders_per_day
        self.base_day = A.epoch_day(opened_on)

    def rng(self, *parts: int | str) -> np.random.Generator:
        return stream(self.seed, *parts)

    def key(self, *parts: int | str) -> int:
        return key(self.seed, *parts)

    def day(self, t: int) -> date:
        return self.opened_on + timedelta(days=int(t))

    # .................................................................. construction
    def build(self) -> World:
        from faker import Faker

        fake = Faker("en_US")
        fake.seed_instance(self.seed)
        r = self.rng("world")

        first = _unique(fake.first_name, 600)
        last = _unique(fake.last_name, 600)
        self.first_names = pa.array(first)
        self.last_names = pa.array(last)
        self.first_slugs = pa.array([_slug(x) for x in first])
        self.last_slugs = pa.array([_slug(x) for x in last])
        self.email_domains = pa.array([d for d, _ in EMAIL_DOMAINS])
        self.email_domain_cdf = _cdf([w for _, w in EMAIL_DOMAINS])
        self.sample_domain = Sampler([w for _, w in EMAIL_DOMAINS])

        self._build_stores(fake, r)
        self._build_employees(r, first, last)
        self._build_products(fake)
        self.customers = Customers(self)
        self._build_customer_params()
        self._build_inventory_params()
        return self

    def _build_stores(self, fake, r: np.random.Generator) -> None:
        n_regions = int(r.integers(3, 6))
        n_stores = int(r.integers(8, 13))
        regions = list(r.permutation(REGION_NAMES)[:n_regions])
        store_region = np.concatenate(
            [np.arange(n_regions), r.integers(0, n_regions, n_stores - n_regions)]
        ).astype(np.int32)
        extra = 4
        cities = _unique(fake.city, n_stores + n_regions * extra)
        store_city = np.arange(n_stores, dtype=np.int32)
        city_region = np.concatenate([store_region, np.repeat(np.arange(n_regions), extra)]).astype(
            np.int32
        )
        pools = [np.flatnonzero(city_region == g).astype(np.int32) for g in range(n_regions)]
        width = max(len(p) for p in pools)
        pool = np.zeros((n_regions, width), np.int32)
        for g, p in enumerate(pools):
            pool[g, : len(p)] = p
        self.regions = regions
        self.city_names = cities
        self.city_names_arr = pa.array(cities)
        self.city_region = city_region
        self.region_names_arr = pa.array(regions)
        self.region_pool = pool
        self.region_pool_size = np.array([len(p) for p in pools], np.int32)

        weight = r.lognormal(0.0, 0.35, n_stores)
        weight[int(np.argmax(weight))] *= 1.3  # a flagship
        opened_back = np.sort(r.integers(30, 12 * 365, n_stores))[::-1]
        self.n_stores = n_stores
        self.store_ids = A.fixed_ids("S", np.arange(1, n_stores + 1), 2)
        self.store_region = store_region
        self.store_city = store_city
        self.store_weight = weight / weight.sum()
        self.store_cdf = _cdf(weight)
        self.sample_store = Sampler(weight)
        suffix = r.integers(0, len(STORE_SUFFIXES), n_stores)
        self.store_names = pa.array(
            [f"{cities[i]} {STORE_SUFFIXES[s]}" for i, s in enumerate(suffix)]
        )
        self.store_opened = (self.base_day - opened_back).astype(np.int64)

    def _build_employees(self, r: np.random.Generator, first: list[str], last: list[str]):
        ids, store, names, roles, hired = [], [], [], [], []
        seller_emp, seller_w, seller_store = [], [], []
        for s in range(self.n_stores):
            n_assoc = int(r.integers(3, 8)) + (1 if self.store_weight[s] > 0.1 else 0)
            n_cash = int(r.integers(1, 3))
            staff = ["store_manager"] + ["sales_associate"] * n_assoc + ["cashier"] * n_cash
            span = max(1, self.base_day - int(self.store_opened[s]))
            for k, role in enumerate(staff, start=1):
                idx = len(ids)
                ids.append(f"E{s + 1:02d}{k:02d}")
                store.append(s)
                names.append(f"{first[r.integers(len(first))]} {last[r.integers(len(last))]}")
                roles.append(role)
                hired.append(self.base_day - int(r.integers(0, span)))
                if role != "store_manager":
                    seller_emp.append(idx)
                    seller_store.append(s)
                    seller_w.append(
                        r.lognormal(0.0, 0.4) * (1.4 if role == "sales_associate" else 1)
                    )
        self.employee_ids = pa.array(ids)
        self.employee_store = np.array(store, np.int32)
        self.employee_names = pa.array(names)
        self.employee_roles = pa.array(roles)
        self.employee_hired = np.array(hired, np.int64)
        self.seller_emp = np.array(seller_emp, np.int64)
        seller_store_arr = np.array(seller_store, np.int64)
        cum = np.concatenate([[0.0], np.cumsum(seller_w)])
        self.seller_cum = cum
        starts = np.searchsorted(seller_store_arr, np.arange(self.n_stores), side="left")
        ends = np.searchsorted(seller_store_arr, np.arange(self.n_stores), side="right")
        self.seller_lo = cum[starts]
        self.seller_hi = cum[ends]
        self.seller_start = starts
        self.seller_end = ends

    def pick_seller(self, store: np.ndarray, u: np.ndarray) -> np.ndarray:
        """An employee index (non-manager of ``store``) per order, weighted by performance."""
        target = self.seller_lo[store] + u * (self.seller_hi[store] - self.seller_lo[store])
        k = np.searchsorted(self.seller_cum, target, side="right") - 1
        k = np.clip(k, self.seller_start[store], self.seller_end[store] - 1)
        return self.seller_emp[k]

    def _build_products(self, fake) -> None:
        r = self.rng("products")
        shares = np.array([c[4] for c in CATEGORIES])
        counts = np.floor(shares / shares.sum() * N_PRODUCTS).astype(int)
        counts[0] += N_PRODUCTS - counts.sum()
        cat = np.repeat(np.arange(len(CATEGORIES)), counts)
        cat = cat[r.permutation(N_PRODUCTS)]
        brands = {}
        for c in CATEGORIES:
            names = _unique(fake.last_name, int(r.integers(3, 7)))
            suffixes = ("", " & Co.", " Goods", " Labs", " Works", " Supply")
            brands[c[0]] = [n + suffixes[int(r.integers(len(suffixes)))] for n in names]
        names, skus, categories, brand_list = [], [], [], []
        seen: set[str] = set()
        base = np.empty(N_PRODUCTS)
        for p in range(N_PRODUCTS):
            cname, code, median, sigma, _, _ = CATEGORIES[cat[p]]
            brand = brands[cname][int(r.integers(len(brands[cname])))]
            noun = NOUNS[cname][int(r.integers(len(NOUNS[cname])))]
            adj = ADJECTIVES[int(r.integers(len(ADJECTIVES)))]
            name = f"{brand} {adj} {noun}"
            n = 2
            while name in seen:
                name = f"{brand} {adj} {noun} {n}"
                n += 1
            seen.add(name)
            names.append(name)
            skus.append(f"{code}-{p + 1:05d}")
            categories.append(cname)
            brand_list.append(brand)
            base[p] = median * math.exp(sigma * r.standard_normal())
        self.n_products = N_PRODUCTS
        self.product_ids = A.fixed_ids("P", np.arange(1, N_PRODUCTS + 1), 4)
        self.product_sku = pa.array(skus)
        self.product_name = pa.array(names)
        self.product_category = pa.array(categories)
        self.product_brand = pa.array(brand_list)
        self.product_cat = cat
        base_cents = _round_price(base)
        self.unit_cost = np.rint(base_cents * r.uniform(0.35, 0.65, N_PRODUCTS)).astype(np.int64)

        boost = np.array([c[5] for c in CATEGORIES])[cat]
        rank = r.permutation(N_PRODUCTS) + 1
        popularity = boost / rank**0.9
        self.popularity = popularity / popularity.sum()
        self.sample_product = Sampler(popularity)

        # Price schedule: version 0 on day 0, then changes every ~90 days per product.
        k_max = PRICE_HORIZON_DAYS // MIN_PRICE_GAP + 2
        gaps = MIN_PRICE_GAP + np.floor(r.exponential(70.0, (N_PRODUCTS, k_max - 1)))
        first_change = r.integers(5, 120, N_PRODUCTS)
        days = np.empty((N_PRODUCTS, k_max), np.int64)
        days[:, 0] = 0
        days[:, 1:] = first_change[:, None] + np.cumsum(gaps, axis=1) - gaps[:, :1]
        never = np.iinfo(np.int32).max
        days[days > PRICE_HORIZON_DAYS] = never
        used = int((days < never).sum(axis=1).max())
        days = days[:, :used]
        prices = np.empty((N_PRODUCTS, used), np.int64)
        prices[:, 0] = base_cents
        x = np.zeros(N_PRODUCTS)
        for k in range(1, used):
            x = 0.6 * x + r.normal(0.0, 0.09, N_PRODUCTS)
            clearance = np.where(r.random(N_PRODUCTS) < 0.12, 0.75, 1.0)
            inflation = 1.0 + 0.025 * np.minimum(days[:, k], PRICE_HORIZON_DAYS) / 365.0
            p = _round_price(base * np.exp(x) * clearance * inflation)
            same = p == prices[:, k - 1]
            p = np.where(same, p + np.where(p >= 999, 100, 50), p)
            prices[:, k] = p
        self.price_days = days
        self.price_cents = prices
        self.cheap = base_cents < 2000

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
        """Customers who sign up on day index ``k`` (k = 0: the initial base)."""
        r = self.rng("cohort", k)
        if k == 0:
            n = self.initial_customers
            short_share = SHORT_SHARE * (SHORT_MIN + SHORT_MEAN) / MEAN_LIFETIME
            short = r.random(n) < short_share
            life = np.where(short, r.exponential(SHORT_MEAN, n), r.exponential(LONG_MEAN, n))
        else:
            n = int(r.poisson(self.signups_per_day * season(self.day(k))))
            short = r.random(n) < SHORT_SHARE
            life = np.where(
                short,
                SHORT_MIN + r.exponential(SHORT_MEAN, n),
                LONG_MIN + r.exponential(LONG_MEAN, n),
            )
        store = pick(self.store_cdf, r.random(n)).astype(np.int32)
        region = self.store_region[store]
        pool_size = self.region_pool_size[region]
        home = self.store_city[store]
        # position of the home city inside its region's pool
        home_pos = np.argmax(self.region_pool[region] == home[:, None], axis=1)
        other_pos = (r.random(n) * pool_size).astype(np.int32)
        city_pos = np.where(r.random(n) < 0.7, home_pos, other_pos).astype(np.int32)
        rate = r.gamma(0.9, 1 / 0.9, n)
        spend = r.lognormal(0.0, 0.35, n)
        if k == 0:
            value = rate * spend
            q = np.argsort(np.argsort(value)) / max(n - 1, 1)
            tier0 = np.where(q >= 0.92, 2, np.where(q >= 0.70, 1, 0)).astype(np.int8)
            signup_sec = r.integers(0, 3600, n)
            buys_first = np.zeros(n, bool)
        else:
            tier0 = np.zeros(n, np.int8)
            signup_sec = r.integers(7 * 3600, 23 * 3600, n)
            buys_first = r.random(n) < BUYS_ON_SIGNUP
        eu = r.uniform(0.5, 1.5, (3, n))
        ph = r.random((3, n))
        return {
            "signup": np.full(n, k, np.int32),
            "end": (k + np.maximum(1, np.ceil(life))).astype(np.int32),
            "wdecl": r.uniform(60.0, 90.0, n),
            "rate": rate,
            "spend": spend,
            "store": store,
            "online_p": r.beta(1.3, 3.2, n),
            "first": r.integers(0, len(self.first_names), n),
            "last": r.integers(0, len(self.last_names), n),
            "domain": pick(self.email_domain_cdf, r.random(n)),
            "city_pos": city_pos,
            "city_step": r.integers(1, 1 << 20, n),
            "tier0": tier0,
            "eu0": eu[0],
            "eu1": eu[1],
            "eu2": eu[2],
            "ph0": ph[0],
            "ph1": ph[1],
            "ph2": ph[2],
            "signup_sec": signup_sec,
            "buys_first": buys_first,
        }

    # .................................................................. inventory
    def _build_inventory_params(self) -> None:
        r = self.rng("inventory-params")
        n_s, n_p = self.n_stores, self.n_products
        self.inv_store = np.repeat(np.arange(n_s), n_p)
        self.inv_product = np.tile(np.arange(n_p), n_s)
        exp_qty = np.where(self.cheap, 1.8, 1.3)
        lam = (
            self.orders_per_day
            * 3.0
            * self.store_weight[:, None]
            * (self.popularity * exp_qty)[None, :]
        ).ravel()
        n = len(lam)
        self.inv_lambda = lam
        self.inv_cycle = np.where(lam > 2.0, 7, 14).astype(np.int64)
        self.inv_phase = r.integers(0, 14, n)
        cover = r.uniform(0.9, 1.6, n)
        safety = r.integers(1, 4, n)
        self.inv_level = (np.ceil(lam * self.inv_cycle * cover) + safety).astype(np.int64)
        self.inv_rop = (np.ceil(lam * 3.0) + safety).astype(np.int64)
        self.inv_key = self.key("inventory-noise")
        self.inv_store_ids = A.take(self.store_ids, self.inv_store)
        self.inv_product_ids = A.take(self.product_ids, self.inv_product)
        self.inv_cells = np.arange(n, dtype=np.uint64)


@lru_cache(maxsize=8)
def get_world(seed: int, opened_on: date, orders_per_day: int) -> World:
    return World(seed, opened_on, orders_per_day).build()
