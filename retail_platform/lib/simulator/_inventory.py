"""The inventory file of one day: end-of-day stock per (store, product), in closed form."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from retail_platform.lib.simulator import _arrow
from retail_platform.lib.simulator._arrow import SECONDS_PER_DAY
from retail_platform.lib.simulator._calendar import season
from retail_platform.lib.simulator._random import uniform
from retail_platform.lib.simulator._world import INVENTORY_WINDOW, World

INVENTORY_CACHE = 40  # days of per-cell demand kept per world


def _inventory_day(world: World, t: int) -> tuple[np.ndarray, np.ndarray]:
    """Units sold and units damaged per (store, product) cell on day ``t``: counter-based
    hash noise of (seed, cell, day), so any day can be computed on its own."""
    cache = world.cache("inventory")
    units_and_damaged = cache.get(t)
    if units_and_damaged is not None:
        return units_and_damaged
    n = len(world.inv_lambda)
    if t < 0:
        units_and_damaged = (np.zeros(n, np.int64), np.zeros(n, np.int64))
    else:
        cells = world.inv_cells
        u1 = uniform(world.inv_key, cells, t, 1)
        u2 = uniform(world.inv_key, cells, t, 2)
        u3 = uniform(world.inv_key, cells, t, 3)
        noise = -0.5 * (np.log1p(-u1) + np.log1p(-u2))  # Gamma(2, 1/2): mean 1
        demand = world.inv_lambda * season(world.day(t)) * noise
        units = np.floor(demand + u3).astype(np.int64)
        damaged = np.where(u3 < 0.004, 1 + (u1 < 0.3), 0).astype(np.int64)
        units_and_damaged = (units, damaged)
    if len(cache) > 2 * INVENTORY_CACHE:
        for old in sorted(cache)[:INVENTORY_CACHE]:
            del cache[old]
    cache[t] = units_and_damaged
    return units_and_damaged


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
    used_before = np.cumsum(used, axis=1)
    # used_before[cell, j]: units used on the window's days before its day j
    used_before = np.concatenate([np.zeros((len(used_before), 1), np.int64), used_before], axis=1)
    cells = np.arange(len(level))

    def used_between(since: np.ndarray, until: np.ndarray) -> np.ndarray:
        """Units used from day ``since`` up to (not including) day ``until``, per cell."""
        return used_before[cells, until - first] - used_before[cells, since - first]

    start = np.maximum(0, t - (t + phase) % cycle)  # current cycle started (restocked) here
    on_hand = np.maximum(0, level - used_between(start, t + 1))
    previous_end = start - 1
    previous_start = np.maximum(0, previous_end - (previous_end + phase) % cycle)
    left = np.maximum(0, level - used_between(previous_start, previous_end + 1))
    restock = start == t
    received = np.where(restock, level if t == 0 else level - left, 0)
    _, damaged = _inventory_day(world, t)
    damaged = np.where(on_hand > 0, damaged, 0)
    n = len(level)
    updated_at = (world.base_day + t) * SECONDS_PER_DAY + 23 * 3600 + 30 * 60 + world.inv_store * 60
    return _arrow.table(
        "inventory",
        {
            "store_id": world.inv_store_ids,
            "product_id": world.inv_product_ids,
            "on_hand": pa.array(on_hand, pa.int64()),
            "reorder_point": pa.array(world.inv_reorder_point, pa.int64()),
            "received_qty": pa.array(received, pa.int64()),
            "damaged_qty": pa.array(damaged, pa.int64()),
            "transaction_date": _arrow.repeat(world.day(t).isoformat(), n),
            "updated_at": _arrow.timestamp_strings(updated_at),
        },
    )
