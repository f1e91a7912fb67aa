"""One day's files: ``simulate_day`` assembles the day's tables into batches, in the order
the sources deliver them, and injects the faults of ``FaultConfig``.

Late data: the main batch of day *d* has orders that will be returned as
``completed``, shipments ``in_transit`` (``delivered_at`` null) and no refunds. Late
batches for folder *d* (``batch-YYYYMMDD-late-<arrival YYYYMMDD>``, arriving 2..20
days later) carry the newer versions: order rows with status ``returned``
(``updated_at`` = return time), refund payment rows, and the final shipment rows
(``delivered``/``lost``/``returned``). With ``late_files=False`` no late batch is
delivered and the main batch carries the final versions instead.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import numpy as np
import pyarrow as pa

from retail_platform.lib.entities import FACT_ENTITIES
from retail_platform.lib.simulator._arrow import SECONDS_PER_DAY
from retail_platform.lib.simulator._batches import (
    REDELIVERY_SUFFIX,
    LandingBatch,
    late_batch_id,
    main_batch_id,
)
from retail_platform.lib.simulator._config import FaultConfig, SimulationConfig
from retail_platform.lib.simulator._dimensions import (
    customers_table,
    employees_table,
    products_table,
    stores_table,
)
from retail_platform.lib.simulator._faults import inject_bad_rows, inject_duplicates
from retail_platform.lib.simulator._inventory import inventory_table
from retail_platform.lib.simulator._random import uniform
from retail_platform.lib.simulator._sales import (
    RETURN_MAX_DAYS,
    RETURNED,
    SHIPMENT_FINAL_MAX_DAYS,
    Sales,
    sales,
)
from retail_platform.lib.simulator._world import World, get_world

# The order the simulated sources deliver a day's files in: dimensions, each after those it
# references, then the contract's facts.
DELIVERY_ORDER = ("stores", "employees", "products", "customers", *FACT_ENTITIES)


@dataclass
class _Part:
    """A table of the day before faults: its entity and the day index it arrives on."""

    entity: str
    arrival_t: int
    table: pa.Table
    faults: dict[str, int] = field(default_factory=dict)


def simulate_day(config: SimulationConfig, day: date) -> list[LandingBatch]:
    """Every batch whose folder is ``day``: the main batches (arriving on ``day``), the
    late batches for ``day`` (arriving later) and re-deliveries. Deterministic."""
    world = get_world(config.seed, config.opened_on, config.world_volume)
    t = (day - config.opened_on).days
    if t < 0:
        return []
    parts = _dimension_parts(world, t, config.faults)
    parts += _sales_parts(config, world, t)
    parts.append(_Part("inventory", t, inventory_table(world, t)))
    rank = {entity: i for i, entity in enumerate(DELIVERY_ORDER)}
    parts.sort(key=lambda part: (part.arrival_t, rank[part.entity]))
    batches = [_batch_with_row_faults(config, world, day, t, part) for part in parts]
    if config.faults.malformed_files > 0 and batches:
        _break_one_file(world, t, batches, config.faults.malformed_files)
    if config.faults.redelivered_files > 0:
        batches += _redeliveries(world, t, batches, config.faults.redelivered_files)
    return batches


def _dimension_parts(world: World, t: int, faults: FaultConfig) -> list[_Part]:
    """Stores and staff on the opening day, the catalogue's changes, the customers'."""
    parts = []
    if t == 0:
        parts.append(_Part("stores", t, stores_table(world, t)))
        parts.append(_Part("employees", t, employees_table(world, t)))
    products = products_table(world, t)
    if products is not None:
        parts.append(_Part("products", t, products))
    customers, n_updates = customers_table(world, t, faults.customer_updates)
    if customers is not None:
        recorded = {"customer_updates": n_updates} if n_updates else {}
        parts.append(_Part("customers", t, customers, recorded))
    return parts


def _sales_parts(config: SimulationConfig, world: World, t: int) -> list[_Part]:
    """The day's orders, lines, payments and shipments, then (with late files) the
    newer versions in the late batches."""
    day_sales = sales(world, t, config.orders_per_day)
    if not day_sales.n_orders:
        return []
    late = config.faults.late_files
    all_orders = np.arange(day_sales.n_orders)
    refunds = day_sales.payments.is_return_refund
    on_time_payments = np.flatnonzero(~refunds) if late else np.arange(len(refunds))
    parts = [
        _Part("orders", t, day_sales.orders_table(all_orders, final=not late)),
        _Part("order_items", t, day_sales.items_table()),
        _Part("payments", t, day_sales.payments_table(on_time_payments)),
    ]
    shipments = np.arange(len(day_sales.shipments.order))
    if len(shipments):
        parts.append(_Part("shipments", t, day_sales.shipments_table(shipments, final=not late)))
    if late:
        parts += _late_parts(world, t, day_sales)
    return parts


def _late_parts(world: World, t: int, day_sales: Sales) -> list[_Part]:
    """Returns and refunds in up to three late batches, shipment outcomes in up to two:
    each row in the first batch arriving on or after its event."""
    rng = world.rng("late-cuts", t)
    return_cuts = sorted(
        {t + int(rng.integers(3, 7)), t + int(rng.integers(8, 13)), t + RETURN_MAX_DAYS}
    )
    shipment_cuts = sorted({t + int(rng.integers(2, 5)), t + SHIPMENT_FINAL_MAX_DAYS})

    def day_index(seconds: np.ndarray) -> np.ndarray:
        return seconds // SECONDS_PER_DAY - world.base_day

    returned = np.flatnonzero(day_sales.final_status == RETURNED)
    refunds = np.flatnonzero(day_sales.payments.is_return_refund)
    shipments = np.arange(len(day_sales.shipments.order))
    parts = []
    for cut, rows in _group_late(day_index(day_sales.return_at[returned]), return_cuts):
        parts.append(_Part("orders", cut, day_sales.orders_table(returned[rows], final=True)))
    for cut, rows in _group_late(day_index(day_sales.payments.paid_at[refunds]), return_cuts):
        parts.append(_Part("payments", cut, day_sales.payments_table(refunds[rows])))
    for cut, rows in _group_late(day_index(day_sales.shipments.final_at), shipment_cuts):
        table = day_sales.shipments_table(shipments[rows], final=True)
        parts.append(_Part("shipments", cut, table))
    return parts


def _group_late(event_t: np.ndarray, cuts: list[int]) -> list[tuple[int, np.ndarray]]:
    """Rows (by position) grouped into the first cut day >= their event day."""
    which = np.searchsorted(np.asarray(cuts), event_t, side="left")
    if len(which) and which.max() >= len(cuts):
        raise AssertionError("late event after the last late batch")  # pragma: no cover
    return [(cut, np.flatnonzero(which == i)) for i, cut in enumerate(cuts) if (which == i).any()]


def _batch_with_row_faults(
    config: SimulationConfig, world: World, day: date, t: int, part: _Part
) -> LandingBatch:
    """The part as a batch: a fact table gets its bad and duplicate rows."""
    arrives_on = config.opened_on + timedelta(days=part.arrival_t)
    batch_id = main_batch_id(day) if part.arrival_t == t else late_batch_id(day, arrives_on)
    table, faults = part.table, dict(part.faults)
    if part.entity in FACT_ENTITIES:
        rng = world.rng("faults", t, part.entity, batch_id)
        table, bad = inject_bad_rows(part.entity, table, config.faults.bad_rows, rng, day)
        table, duplicates = inject_duplicates(table, config.faults.duplicate_rows, rng)
        faults.update(bad)
        if duplicates:
            faults["duplicate_rows"] = duplicates
    if part.arrival_t > t:
        faults["late_file"] = 1
    return LandingBatch(
        part.entity, day, batch_id, arrives_on, table, faults, malformed=False, fmt=config.fmt
    )


def _break_one_file(world: World, t: int, batches: list[LandingBatch], rate: float) -> None:
    """With probability ``rate``, one of the day's batches becomes unparseable (in place)."""
    rng = world.rng("malformed", t)
    if rng.random() < rate:
        i = int(rng.integers(len(batches)))
        batch = batches[i]
        batches[i] = replace(batch, malformed=True, faults={**batch.faults, "malformed_file": 1})


def _redeliveries(
    world: World, t: int, batches: list[LandingBatch], rate: float
) -> list[LandingBatch]:
    """A share ``rate`` of the (well-formed) batches delivered again, 0-2 days later."""
    key = world.key("redelivery")
    copies = []
    for batch in batches:
        if batch.malformed:
            continue
        batch_key = zlib.crc32(f"{batch.entity}/{batch.batch_id}".encode())
        if uniform(key, t, batch_key, 0) < rate:
            lag_days = int(uniform(key, t, batch_key, 1) * 3)
            copies.append(
                replace(
                    batch,
                    batch_id=batch.batch_id + REDELIVERY_SUFFIX,
                    arrives_on=batch.arrives_on + timedelta(days=lag_days),
                    faults={"redelivered_file": 1},
                )
            )
    return copies
