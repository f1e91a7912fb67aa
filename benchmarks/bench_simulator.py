"""Benchmark the source simulator.

    python -m benchmarks.bench_simulator            # 365 days at ~30,000 order lines/day
    python -m benchmarks.bench_simulator --quick    # 3 days at ~3,000 order lines/day

Measures (1) order lines generated per second in memory -- orders + order_items as
Arrow tables, and the whole day (every entity, faults included), the median of 5 passes
over 20 days (``--passes``) -- and (2) the
wall-clock time to write N days as JSON Lines into a temporary LocalLandingZone
with ``simulate()``. Prints a summary; ``main(argv)`` returns the figures.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from datetime import timedelta

import numpy as np

from retail_platform.lib.landing_zone import LocalLandingZone
from retail_platform.lib.simulator import (
    SimulationConfig,
    simulate,
    simulate_day,
)
from retail_platform.lib.simulator._sales import sales
from retail_platform.lib.simulator._world import get_world

LINES_PER_ORDER = 3.0  # average order lines per order in the simulator


def _cpu_seconds() -> float:
    """CPU time of this process and its (finished) children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _in_memory_pass(world, config: SimulationConfig, first_day: int, days: int):
    """One pass over ``days`` days: (orders + items lines/s, whole day lines/s, lines)."""
    lines, t0 = 0, time.perf_counter()
    for t in range(first_day, first_day + days):
        day_sales = sales(world, t)
        day_sales.orders_table(np.arange(day_sales.n_orders), final=False)
        day_sales.items_table()
        lines += day_sales.n_lines
    sales_s = time.perf_counter() - t0

    day_lines, t0 = 0, time.perf_counter()
    for t in range(first_day, first_day + days):
        for b in simulate_day(config, config.opened_on + timedelta(days=t)):
            if b.entity == "order_items" and b.batch_id.endswith("-main"):
                day_lines += b.num_rows - b.faults.get("duplicate_rows", 0)
    day_s = time.perf_counter() - t0
    return lines / sales_s, day_lines / day_s, lines


def _in_memory(config: SimulationConfig, first_day: int, days: int, passes: int) -> dict:
    """The median of ``passes`` passes (one pass over 20 days lasts about half a second,
    too short to be steady on a shared machine), with every pass's figures."""
    world = get_world(config.seed, config.opened_on, config.orders_per_day)
    world.customers.ensure(first_day + days)
    sales(world, first_day - 1)  # warm caches (buyer block, tables)
    runs = [_in_memory_pass(world, config, first_day, days) for _ in range(passes)]
    sales_rates, day_rates = [r[0] for r in runs], [r[1] for r in runs]
    return {
        "orders_items_lines_per_s": statistics.median(sales_rates),
        "full_day_lines_per_s": statistics.median(day_rates),
        "orders_items_lines_per_s_passes": sales_rates,
        "full_day_lines_per_s_passes": day_rates,
        "in_memory_days": days,
        "in_memory_lines": runs[0][2],
    }


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 days at 3,000 lines/day")
    parser.add_argument("--days", type=int, help="days to write (default 365, quick 3)")
    parser.add_argument("--lines-per-day", type=int, help="default 30,000 (quick 3,000)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--passes", type=int, default=5, help="in-memory passes (median kept)")
    args = parser.parse_args(argv)

    days = args.days or (3 if args.quick else 365)
    lines_per_day = args.lines_per_day or (3_000 if args.quick else 30_000)
    opd = max(1, round(lines_per_day / LINES_PER_ORDER))
    config = SimulationConfig(seed=args.seed, orders_per_day=opd, fmt="jsonl")

    memory = _in_memory(config, first_day=30, days=5 if args.quick else 20, passes=args.passes)

    cpu0 = _cpu_seconds()
    with tempfile.TemporaryDirectory(prefix="bench-simulator-") as root:
        zone = LocalLandingZone(root=root)
        summary = simulate(zone, config, config.opened_on, days)
    cpu = _cpu_seconds() - cpu0

    figures = {
        **memory,
        "days": days,
        "orders_per_day": opd,
        "write_seconds": summary.seconds,
        "write_cpu_seconds": cpu,
        "workers": 0,  # the simulator renders every day in the calling process
        "files": summary.files_written,
        "megabytes": summary.bytes_written / 1e6,
        "order_lines": summary.order_lines,
        "order_lines_per_day": summary.order_lines / days,
        "written_lines_per_s": summary.order_lines / summary.seconds,
        "rows": summary.rows,
        "cpus": os.cpu_count() or 1,
        "load_average_1m": os.getloadavg()[0],
    }
    print(f"simulator benchmark (seed {args.seed}, {opd} orders/day, {figures['cpus']} CPUs)")
    for label, key in (("orders+order_items", "orders_items"), ("whole day + faults", "full_day")):
        passes = ", ".join(f"{r / 1e6:.2f}" for r in memory[f"{key}_lines_per_s_passes"])
        print(
            f"  in memory, {label}: {memory[f'{key}_lines_per_s']:>12,.0f} lines/s "
            f"(median of {len(memory[f'{key}_lines_per_s_passes'])} passes; M/s: {passes})"
        )
    print(
        f"  write {days} days as jsonl:      {summary.seconds:>12.1f} s wall, {cpu:.1f} s CPU "
        f"({summary.order_lines:,} order lines, {figures['order_lines_per_day']:,.0f}/day, "
        f"{summary.files_written:,} files, {figures['megabytes']:,.0f} MB, "
        f"{summary.rows:,} rows)"
    )
    print(
        "  0 worker processes (in-process); "
        f"load average after the run: {figures['load_average_1m']:.2f}"
    )
    return figures


if __name__ == "__main__":
    main()
