"""A deterministic, fast and realistic simulator of the retail source systems.

It produces what the source systems deliver to the landing zone
(``<entity>/transaction_date=YYYY-MM-DD/<batch-id>.<jsonl|csv>``, see
``docs/contract.md``): stores, employees and the product catalogue on the opening
day, customers as they sign up (and change), product price changes, and every day
orders, order lines, payments, shipments and an inventory snapshot -- plus the
usual trouble (late files, re-deliveries, duplicate and invalid rows, malformed
files), each switchable through :class:`FaultConfig`.

Determinism: ``simulate_day(config, day)`` is a pure function of ``config`` and
``day``. Every random stream is keyed by (seed, purpose, day, ...) and seed-only
state (name pools, catalogue, customer cohorts) is cached in-process, so a day's
files are byte-identical whichever other days were simulated, in whatever order.

Late data: the main batch of day *d* has orders that will be returned as
``completed``, shipments ``in_transit`` (``delivered_at`` null) and no refunds. Late
batches for folder *d* (``batch-YYYYMMDD-late-<arrival YYYYMMDD>``, arriving 2..20
days later) carry the newer versions: order rows with status ``returned``
(``updated_at`` = return time), refund payment rows, and the final shipment rows
(``delivered``/``lost``/``returned``). With ``late_files=False`` no late batch is
delivered and the main batch carries the final versions instead.

One world, any volume: the world (stores, staff, catalogue, the customer base and
its sign-ups) is a function of (``seed``, ``opened_on``, ``world_orders_per_day``)
only; ``orders_per_day`` sets how many orders a day brings, drawn from the customers
signed up by that day. So a day simulated at another volume than the days before it
refers only to stores, employees, products and customers that landed by then or land
in that day's own files (a new customer arrives with its customer row). The
``retail-platform`` CLI, the ``simulate_day`` job and ``make demo`` all simulate the
world sized for ``DEFAULT_ORDERS_PER_DAY``, opened on the first day landed in the zone
(``opening_day``; an empty zone opens a shop on the first day simulated), so each continues
what the others landed.
"""

from __future__ import annotations

import os
import queue
import threading
import time
import zlib
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from retail_platform.lib.entities import FACT_ENTITIES
from retail_platform.lib.simulator import _generate as G
from retail_platform.lib.simulator._arrow import SCHEMAS
from retail_platform.lib.simulator._faults import (
    BAD_REASONS,
    UNKNOWN_PRODUCT_ID,
    inject_bad_rows,
    inject_duplicates,
)
from retail_platform.lib.simulator._random import uniform
from retail_platform.lib.simulator._render import (
    FORMATS,
    MALFORMED_VARIANTS,
    corrupt,
    malformed_variant,
    render_table,
)
from retail_platform.lib.simulator._world import get_world

if TYPE_CHECKING:  # the landing zone module pulls in dagster: keep workers light
    from retail_platform.lib.landing_zone import LandingZone

__all__ = [
    "BAD_REASONS",
    "DEFAULT_ORDERS_PER_DAY",
    "FACT_ENTITIES",
    "MALFORMED_VARIANTS",
    "SCHEMAS",
    "UNKNOWN_PRODUCT_ID",
    "FaultConfig",
    "LandingBatch",
    "SimulationConfig",
    "SimulationSummary",
    "history_problem",
    "main_batch_id",
    "opening_day",
    "late_batch_id",
    "render",
    "simulate",
    "simulate_day",
]

DAY = G.DAY
# The order the simulated sources deliver a day's files in: dimensions, each after those it
# references, then the contract's facts.
_DIMENSION_ORDER = ("stores", "employees", "products", "customers")
_FACT_ORDER = FACT_ENTITIES
REDELIVERY_SUFFIX = "-redelivery"

#: The one default volume (average orders a day) of ``make demo``, ``retail-platform
#: simulate`` and the ``simulate_day`` job, and the volume their world is sized for.
DEFAULT_ORDERS_PER_DAY = 200


# ----------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class FaultConfig:
    """What goes wrong at the sources. Rates are shares (0..1); each fault is recorded
    in ``LandingBatch.faults``:

    - ``duplicate_rows``: rows of a fact file repeated exactly, right after the
      original (``faults["duplicate_rows"]``).
    - ``redelivered_files``: batches delivered a second time, byte-identical, as
      ``<batch_id>-redelivery`` arriving 0-2 days after the original
      (``faults == {"redelivered_file": 1}``; malformed batches are never re-delivered).
    - ``late_files``: returns, refunds and shipment outcomes arrive in late batches
      (``faults["late_file"] = 1``). Off: the main batch carries the final versions.
    - ``customer_updates``: daily share of active customers whose email, city or
      loyalty tier changes; the new version lands in that day's customers file
      (``faults["customer_updates"]`` = rows).
    - ``bad_rows``: fact rows made invalid, one reason per row
      (``faults["bad_rows:<reason>"]``; reasons per entity in ``BAD_REASONS``).
    - ``malformed_files``: probability per day that one of that day's batches
      (main or late) renders as an unparseable file (``malformed=True``,
      ``faults["malformed_file"] = 1``).
    """

    duplicate_rows: float = 0.005  # share of rows in a fact file repeated exactly (same file)
    redelivered_files: float = 0.02  # share of batches delivered again as "<batch>-redelivery"
    late_files: bool = True  # returns / shipment outcomes arrive in later batches
    customer_updates: float = 0.01  # share of active customers changing on a day
    bad_rows: float = 0.002  # share of fact rows made invalid (one reason per row)
    malformed_files: float = 0.0  # probability per day that one of the day's files is broken

    def __post_init__(self) -> None:
        for name in (
            "duplicate_rows", "redelivered_files", "customer_updates", "bad_rows", "malformed_files"
        ):  # fmt: skip
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:  # also refuses nan
                raise ValueError(f"FaultConfig.{name} is a share between 0 and 1, got {value!r}")

    @classmethod
    def none(cls) -> FaultConfig:
        """A perfect source: no fault of any kind, no late batches."""
        return cls(
            duplicate_rows=0.0,
            redelivered_files=0.0,
            late_files=False,
            customer_updates=0.0,
            bad_rows=0.0,
            malformed_files=0.0,
        )


@dataclass(frozen=True)
class SimulationConfig:
    """``orders_per_day`` is the average (weekdays, holidays and noise vary it; ~3
    order lines per order); ``opened_on`` is the first day with data.

    ``world_orders_per_day`` is the average volume the world is sized for: the customer
    base and its daily sign-ups, and stock levels (``None``: ``orders_per_day``). Like
    ``seed`` and ``opened_on`` it identifies the world: days that share the three can be
    simulated at any ``orders_per_day`` each and refer only to what landed before them
    or lands with them (a busier day brings more orders from the same customers)."""

    seed: int = 42
    orders_per_day: int = DEFAULT_ORDERS_PER_DAY
    opened_on: date = date(2025, 1, 1)
    fmt: str = "jsonl"
    faults: FaultConfig = field(default_factory=FaultConfig)
    world_orders_per_day: int | None = None

    def __post_init__(self) -> None:
        if self.fmt not in FORMATS:
            raise ValueError(f"fmt must be one of {FORMATS}, got {self.fmt!r}")
        if self.orders_per_day < 0:
            raise ValueError("orders_per_day must be >= 0")
        if self.world_orders_per_day is not None and self.world_orders_per_day < 0:
            raise ValueError("world_orders_per_day must be >= 0")

    @property
    def world_volume(self) -> int:
        """The volume the world is sized for (``world_orders_per_day`` or ``orders_per_day``)."""
        if self.world_orders_per_day is None:
            return self.orders_per_day
        return self.world_orders_per_day


# ----------------------------------------------------------------------------- batches


@dataclass(frozen=True, eq=False)
class LandingBatch:
    """One file a source system delivers.

    ``table`` has exactly ``ENTITIES[entity].column_names`` with the Arrow types of
    ``SCHEMAS[entity]``: ids, dates and timestamps are strings as they land, money is
    ``decimal128(18, 2)``, rates ``decimal128(3, 2)``. Every row's ``transaction_date``
    is ``partition_date`` except injected ``partition_mismatch`` bad rows.
    """

    entity: str
    partition_date: date
    batch_id: str
    arrives_on: date
    table: pa.Table
    faults: Mapping[str, int] = field(default_factory=dict)
    malformed: bool = False
    fmt: str = "jsonl"

    @property
    def path(self) -> str:
        """The landing path for this batch's configured format."""
        return self.path_for(self.fmt)

    def path_for(self, fmt: str) -> str:
        from retail_platform.lib.landing_zone import landing_path

        return landing_path(self.entity, self.partition_date, self.batch_id, fmt)

    @property
    def num_rows(self) -> int:
        return self.table.num_rows

    @property
    def is_late(self) -> bool:
        return self.arrives_on > self.partition_date

    @property
    def is_redelivery(self) -> bool:
        return self.batch_id.endswith(REDELIVERY_SUFFIX)


def main_batch_id(day: date) -> str:
    return f"batch-{day:%Y%m%d}-main"


def late_batch_id(day: date, arrives_on: date) -> str:
    return f"batch-{day:%Y%m%d}-late-{arrives_on:%Y%m%d}"


def render(batch: LandingBatch, fmt: str | None = None) -> bytes:
    """The file's bytes (UTF-8; malformed batches come out unparseable)."""
    fmt = fmt or batch.fmt
    data = render_table(batch.table, fmt)
    if batch.malformed:
        key = f"{batch.entity}/{batch.partition_date.isoformat()}/{batch.batch_id}"
        data = corrupt(data, fmt, malformed_variant(key, fmt), batch.table.num_columns)
    return data


# ----------------------------------------------------------------------------- one day


@dataclass
class _Part:
    entity: str
    arrival_t: int
    table: pa.Table
    faults: dict[str, int]


def _group_late(event_t: np.ndarray, cuts: list[int]) -> list[tuple[int, np.ndarray]]:
    """Rows (by position) grouped into the first cut day >= their event day."""
    which = np.searchsorted(np.asarray(cuts), event_t, side="left")
    if len(which) and which.max() >= len(cuts):
        raise AssertionError("late event after the last late batch")  # pragma: no cover
    return [(cut, np.flatnonzero(which == i)) for i, cut in enumerate(cuts) if (which == i).any()]


def _sales_parts(config: SimulationConfig, world, t: int) -> list[_Part]:
    s = G.sales(world, t, config.orders_per_day)
    if not s.n_orders:
        return []
    all_orders = np.arange(s.n_orders)
    late = config.faults.late_files
    refund = s.pay_is_return_refund
    parts = [
        _Part("orders", t, s.orders_table(all_orders, final=not late), {}),
        _Part("order_items", t, s.items_table(), {}),
        _Part(
            "payments",
            t,
            s.payments_table(np.flatnonzero(~refund) if late else np.arange(len(refund))),
            {},
        ),
    ]
    ships = np.arange(len(s.ship_order))
    if len(ships):
        parts.append(_Part("shipments", t, s.shipments_table(ships, final=not late), {}))
    if not late:
        return parts

    r = world.rng("late-cuts", t)
    return_cuts = sorted(
        {t + int(r.integers(3, 7)), t + int(r.integers(8, 13)), t + G.RETURN_MAX_DAYS}
    )
    ship_cuts = sorted({t + int(r.integers(2, 5)), t + G.SHIPMENT_FINAL_MAX_DAYS})

    returned = np.flatnonzero(s.final_status == G.RETURNED)
    refunds = np.flatnonzero(refund)
    ret_t = s.return_at[returned] // DAY - world.base_day
    refund_t = s.pay_at[refunds] // DAY - world.base_day
    for cut, pos in _group_late(ret_t, return_cuts):
        parts.append(_Part("orders", cut, s.orders_table(returned[pos], final=True), {}))
    for cut, pos in _group_late(refund_t, return_cuts):
        parts.append(_Part("payments", cut, s.payments_table(refunds[pos]), {}))
    ship_t = s.ship_final_at // DAY - world.base_day
    for cut, pos in _group_late(ship_t, ship_cuts):
        parts.append(_Part("shipments", cut, s.shipments_table(ships[pos], final=True), {}))
    return parts


def simulate_day(config: SimulationConfig, day: date) -> list[LandingBatch]:
    """Every batch whose folder is ``day``: the main batches (arriving on ``day``), the
    late batches for ``day`` (arriving later) and re-deliveries. Deterministic."""
    world = get_world(config.seed, config.opened_on, config.world_volume)
    t = (day - config.opened_on).days
    if t < 0:
        return []
    f = config.faults
    parts: list[_Part] = []
    if t == 0:
        parts.append(_Part("stores", t, G.stores_table(world, t), {}))
        parts.append(_Part("employees", t, G.employees_table(world, t), {}))
    products = G.products_table(world, t)
    if products is not None:
        parts.append(_Part("products", t, products, {}))
    customers, n_updates = G.customers_table(world, t, f.customer_updates)
    if customers is not None:
        parts.append(
            _Part("customers", t, customers, {"customer_updates": n_updates} if n_updates else {})
        )
    parts += _sales_parts(config, world, t)
    parts.append(_Part("inventory", t, G.inventory_table(world, t), {}))

    entity_rank = {e: i for i, e in enumerate(_DIMENSION_ORDER + _FACT_ORDER)}
    parts.sort(key=lambda p: (p.arrival_t, entity_rank[p.entity]))

    batches: list[LandingBatch] = []
    for p in parts:
        arrives = config.opened_on + timedelta(days=p.arrival_t)
        batch_id = main_batch_id(day) if p.arrival_t == t else late_batch_id(day, arrives)
        table, faults = p.table, dict(p.faults)
        if p.entity in FACT_ENTITIES:
            r = world.rng("faults", t, p.entity, batch_id)
            table, bad = inject_bad_rows(p.entity, table, f.bad_rows, r, day)
            table, dups = inject_duplicates(table, f.duplicate_rows, r)
            faults.update(bad)
            if dups:
                faults["duplicate_rows"] = dups
        if p.arrival_t > t:
            faults["late_file"] = 1
        batches.append(
            LandingBatch(p.entity, day, batch_id, arrives, table, faults, False, config.fmt)
        )

    if f.malformed_files > 0 and batches:
        r = world.rng("malformed", t)
        if r.random() < f.malformed_files:
            i = int(r.integers(len(batches)))
            b = batches[i]
            batches[i] = replace(b, malformed=True, faults={**b.faults, "malformed_file": 1})

    if f.redelivered_files > 0:
        base = world.key("redelivery")
        copies = []
        for b in batches:
            if b.malformed:
                continue
            k = zlib.crc32(f"{b.entity}/{b.batch_id}".encode())
            u = uniform(base, t, k, 0)
            if u < f.redelivered_files:
                lag = int(uniform(base, t, k, 1) * 3)
                copies.append(
                    replace(
                        b,
                        batch_id=b.batch_id + REDELIVERY_SUFFIX,
                        arrives_on=b.arrives_on + timedelta(days=lag),
                        faults={"redelivered_file": 1},
                    )
                )
        batches += copies
    return batches


# ----------------------------------------------------------------------------- many days


def opening_day(zone: LandingZone, start: date) -> date:
    """The day the shop whose files are in ``zone`` opened: the first day that landed there
    (it delivers the stores, staff and catalogue), or ``start`` in an empty zone, where a
    simulation opens a new shop. The ``opened_on`` of a config that continues ``zone``."""
    from retail_platform.lib.landing_zone import landed_span

    span = landed_span(zone)
    return span[0] if span else start


def history_problem(zone: LandingZone, config: SimulationConfig, start: date) -> str | None:
    """Why simulating from ``start`` into ``zone`` would not continue what landed there,
    or None. A day's orders refer to the stores, staff and catalogue of the opening day
    and to customers signed up on any day up to it, each delivered in its own day's
    files: a simulation starts on the opening day (``config.opened_on``, see
    ``opening_day``), or on the day after a day that landed (one listing of that day's
    folders)."""
    opened_on = config.opened_on
    if start < opened_on:
        return f"the simulated shop opens on {opened_on}: start on {opened_on} or later"
    if start == opened_on:
        return None
    before = start - timedelta(days=1)
    if next(iter(zone.list_files(day=before)), None) is None:
        return (
            f"{zone.uri()} holds no files for {before}: the customers who signed up on days "
            f"that did not land (and the stores, staff and catalogue, which land on the "
            f"opening day {opened_on}) would be missing; start the day after the last day "
            f"landed, or in an empty landing zone (a new shop opens on its first day)"
        )
    return None


@dataclass
class SimulationSummary:
    """What ``simulate`` wrote. ``rows_per_entity`` counts rows in the files written
    (duplicates and re-deliveries included); ``orders``/``order_lines`` count the
    distinct orders and order lines generated (main batches, duplicates excluded);
    ``fault_counts`` sums ``LandingBatch.faults`` over the files written; ``paths`` are
    in write (= arrival) order."""

    start: date
    days: int
    fmt: str
    files_written: int = 0
    bytes_written: int = 0
    rows_per_entity: dict[str, int] = field(default_factory=dict)
    orders: int = 0
    order_lines: int = 0
    fault_counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    workers: int = 0  # worker processes used
    paths: list[str] = field(default_factory=list)  # in the order they were written

    @property
    def rows(self) -> int:
        return sum(self.rows_per_entity.values())

    def __str__(self) -> str:
        end = self.start + timedelta(days=max(self.days - 1, 0))
        lines = [
            f"simulated {self.start}..{end} ({self.days} days) as {self.fmt}: "
            f"{self.files_written} files, {self.bytes_written / 1e6:.1f} MB, "
            f"{self.rows} rows in {self.seconds:.1f}s ({self.workers} worker processes)",
            f"  orders {self.orders}, order lines {self.order_lines}",
            "  rows: " + ", ".join(f"{k}={v}" for k, v in sorted(self.rows_per_entity.items())),
        ]
        if self.fault_counts:
            lines.append(
                "  faults: " + ", ".join(f"{k}={v}" for k, v in sorted(self.fault_counts.items()))
            )
        return "\n".join(lines)


@dataclass(frozen=True)
class _Rendered:
    """A batch after rendering: what the writer needs, without the table."""

    entity: str
    partition_date: date
    batch_id: str
    arrives_on: date
    num_rows: int
    faults: Mapping[str, int]
    late: bool
    redelivery: bool
    data: bytes


def _render_day(config: SimulationConfig, day: date) -> list[_Rendered]:
    """simulate_day + render; runs in worker processes for long simulations."""
    return [
        _Rendered(
            b.entity,
            b.partition_date,
            b.batch_id,
            b.arrives_on,
            b.num_rows,
            dict(b.faults),
            b.is_late,
            b.is_redelivery,
            render(b, config.fmt),
        )
        for b in simulate_day(config, day)
    ]


def _auto_workers(config: SimulationConfig, days: int) -> int:
    """How many worker processes to use when the caller does not say.

    Workers pay ~3-5 s of start-up each and every file crosses a pipe (~20% more CPU
    in total), so they only pay off for long, big runs with idle cores: with the
    machine busy (1-minute load average close to the core count) generating
    in-process is faster. The files are identical either way."""
    if days < 30 or days * config.orders_per_day < 1_000_000:
        return 0
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # pragma: no cover - not on POSIX
        load = 0.0
    idle = (os.cpu_count() or 1) - load
    return max(0, min(3, int(idle) - 1))


def _lane(i: int, workers: int) -> int:
    """Who renders the i-th day: worker ``0..workers-1``, or ``workers`` for the calling
    process, which takes one day in ``workers + 2`` (it also writes every file)."""
    cycle = workers + 2
    k = i % cycle
    if k == cycle - 1:
        return workers
    return (i // cycle * (cycle - 1) + k) % workers


def _rendered_days(
    config: SimulationConfig, start: date, days: int, workers: int
) -> Iterator[tuple[date, list[_Rendered]]]:
    """(day, rendered batches) in day order, computed here and by worker processes."""
    dates = [start + timedelta(days=i) for i in range(days)]
    if workers <= 0:
        for day in dates:
            yield day, _render_day(config, day)
        return
    from retail_platform.lib.simulator._worker import WorkerPool

    lanes = [_lane(i, workers) for i in range(days)]
    ahead = 2  # requests queued per worker
    queued = [0] * workers
    submitted = 0

    def submit_more(pool: WorkerPool, upto: int) -> None:
        nonlocal submitted
        while submitted < min(upto, days):
            lane = lanes[submitted]
            if lane < workers:
                if queued[lane] >= ahead:
                    break
                pool.submit(lane, "_render_day", config, dates[submitted])
                queued[lane] += 1
            submitted += 1

    with WorkerPool(workers) as pool:
        for i, day in enumerate(dates):
            submit_more(pool, i + ahead * (workers + 2))
            lane = lanes[i]
            if lane == workers:
                yield day, _render_day(config, day)
            else:
                result = pool.result(lane)
                queued[lane] -= 1
                yield day, result


class _OrderedWriter:
    """Writes files through the zone on one background thread, strictly in the order
    they were handed over. File writes and uploads release the GIL, so they overlap
    with generating the next day."""

    def __init__(self, zone: LandingZone, max_pending: int = 64) -> None:
        self._zone = zone
        self._queue: queue.Queue[tuple[str, bytes] | None] = queue.Queue(max_pending)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="simulator-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._zone.write_bytes(*item)
                except BaseException as exc:  # re-raised on the calling thread
                    self._error = exc

    def write(self, path: str, data: bytes) -> None:
        self._raise()
        self._queue.put((path, data))

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error


def simulate(
    zone: LandingZone,
    config: SimulationConfig,
    start: date,
    days: int,
    progress: bool = False,
    workers: int | None = None,
) -> SimulationSummary:
    """Generate ``days`` days from ``start`` and write every batch through
    ``zone.write_bytes`` in arrival order: each day's on-time batches, then the late
    batches (of earlier days of the range) arriving that day; batches arriving after
    the last day are written at the end, by arrival day. Writes happen on one
    background thread, in that order; ``simulate`` returns once all are done.

    ``workers``: extra processes that generate and render days in parallel with the
    calling process (which also renders one day in ``workers + 2`` and does all the
    writing). ``None`` decides from the run's size and the idle cores (0 for small
    runs or a busy machine). The files are identical whatever the setting.
    """
    from tqdm.auto import tqdm

    from retail_platform.lib.landing_zone import landing_path

    t0 = time.perf_counter()
    summary = SimulationSummary(start=start, days=days, fmt=config.fmt)
    rows: dict[str, int] = defaultdict(int)
    faults: dict[str, int] = defaultdict(int)
    pending: dict[date, list[_Rendered]] = defaultdict(list)
    n_workers = _auto_workers(config, days) if workers is None else workers
    summary.workers = max(0, n_workers)
    writer = _OrderedWriter(zone)

    def write(b: _Rendered) -> None:
        path = landing_path(b.entity, b.partition_date, b.batch_id, config.fmt)
        writer.write(path, b.data)
        summary.files_written += 1
        summary.bytes_written += len(b.data)
        summary.paths.append(path)
        rows[b.entity] += b.num_rows
        for k, v in b.faults.items():
            faults[k] += v

    try:
        with tqdm(total=days, disable=not progress, unit="day", desc="simulating") as bar:
            for day, batches in _rendered_days(config, start, days, n_workers):
                for b in batches:
                    if not (b.redelivery or b.late):
                        clean = b.num_rows - int(b.faults.get("duplicate_rows", 0))
                        if b.entity == "orders":
                            summary.orders += clean
                        elif b.entity == "order_items":
                            summary.order_lines += clean
                for b in batches:
                    if b.arrives_on == day:
                        write(b)
                    else:
                        pending[b.arrives_on].append(b)
                for b in pending.pop(day, []):
                    write(b)
                bar.update(1)
        for arrival in sorted(pending):
            for b in pending[arrival]:
                write(b)
    finally:
        writer.close()
    summary.rows_per_entity = dict(rows)
    summary.fault_counts = dict(faults)
    summary.seconds = time.perf_counter() - t0
    return summary
