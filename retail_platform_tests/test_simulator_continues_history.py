"""Issue 20, part 1: a day simulated after landed history, at another volume, through the CLI
or the ``simulate_day`` job, refers only to customers, products, stores and employees that
landed by then (or land with it). Real runs: the CLI's ``main``, the job in process, and the
platform (raw -> silver -> gold -> marts) over what landed.

Before the fix the simulator sized its world (the customer base and its sign-ups) by the
day's volume, so a day at 500 orders after days at 200 bought from customers who never
landed: 57% of that day's orders went to silver/rejects as ``unknown_customer``."""

from __future__ import annotations

import time
from collections import Counter
from datetime import date, timedelta

import pytest

from retail_platform.cli import main
from retail_platform.defs.simulate.jobs import simulate_day_job
from retail_platform.lib.simulator import (
    DEFAULT_ORDERS_PER_DAY,
    FaultConfig,
    SimulationConfig,
    render,
    simulate_day,
)
from retail_platform_tests.helpers.local_platform import LocalPlatform

FIRST = date(2025, 1, 1)  # the simulator's opening day and the first partition
HISTORY_DAYS = 30
BUSY = round(2.5 * DEFAULT_ORDERS_PER_DAY)
CLI_DAY = FIRST + timedelta(days=HISTORY_DAYS)  # 2025-01-31, through retail-platform simulate
JOB_DAY = CLI_DAY + timedelta(days=1)  # 2025-02-01, through the simulate_day job
#: What the CLI and the job simulate for the busy days: their defaults but the volume.
BUSY_CONFIG = SimulationConfig(
    orders_per_day=BUSY, world_orders_per_day=DEFAULT_ORDERS_PER_DAY, faults=FaultConfig()
)
#: Most rows that refer to one order: 6 lines, 3 payments (attempt, retry, refund) and a
#: shipment's two versions. An order made invalid orphans at most these (unknown_order).
ROWS_PER_ORDER = 6 + 3 + 2


@pytest.fixture(scope="module")
def continued(tmp_path_factory) -> tuple[LocalPlatform, Counter, dict[str, float]]:
    root = tmp_path_factory.mktemp("continued")
    platform = LocalPlatform(landing_root=root / "landing", database=root / "warehouse.duckdb")
    landing = ["--landing", str(platform.landing_root), "--quiet"]
    seconds: dict[str, float] = {}

    t0 = time.perf_counter()
    assert (
        main(["simulate", "--start", FIRST.isoformat(), "--days", str(HISTORY_DAYS), *landing]) == 0
    )
    seconds["simulate history"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    assert platform.run(FIRST, CLI_DAY - timedelta(days=1)).success  # as make demo leaves it
    seconds["platform over the history"] = time.perf_counter() - t0

    argv = ["simulate", "--start", CLI_DAY.isoformat(), "--orders-per-day", str(BUSY), *landing]
    assert main(argv) == 0
    result = simulate_day_job.execute_in_process(
        partition_key=JOB_DAY.isoformat(),
        resources={"landing_zone": platform.landing},
        run_config={"ops": {"write_simulated_day": {"config": {"orders_per_day": BUSY}}}},
    )
    assert result.success

    injected: Counter = Counter()
    for day in (CLI_DAY, JOB_DAY):
        for batch in simulate_day(BUSY_CONFIG, day):
            if batch.entity == "orders" and not batch.is_late and not batch.is_redelivery:
                # what landed is what these batches say (so are the faults counted below)
                assert platform.landing.read_bytes(batch.path) == render(batch)
                clean = batch.num_rows - batch.faults.get("duplicate_rows", 0)
                injected[("orders", "rows")] += clean
            if not batch.is_redelivery:
                for kind, count in batch.faults.items():
                    if kind.startswith("bad_rows:"):
                        injected[(batch.entity, kind.removeprefix("bad_rows:"))] += count

    t0 = time.perf_counter()
    assert platform.run(CLI_DAY, JOB_DAY).success
    seconds["platform over the two busy days"] = time.perf_counter() - t0
    return platform, injected, seconds


def _rejects(platform: LocalPlatform, reason_like: str) -> Counter:
    rows = platform.query(
        "SELECT entity, reason, count(*) FROM retail_silver.rejects "
        f"WHERE transaction_date IN (DATE '{CLI_DAY}', DATE '{JOB_DAY}') "
        f"AND reason LIKE '{reason_like}' GROUP BY ALL"
    )
    return Counter({(entity, reason): n for entity, reason, n in rows})


def _bad_orders(injected: Counter) -> int:
    """Order rows of the two days a fault made invalid (null key, wrong day, bad date)."""
    return sum(n for (entity, kind), n in injected.items() if entity == "orders" and kind != "rows")


def test_a_busier_day_orders_only_from_customers_that_landed(continued):
    platform, injected, seconds = continued
    print({k: round(v, 1) for k, v in seconds.items()})
    unknown = _rejects(platform, "unknown_%")
    # no fault makes up customers, stores or employees: none may be unknown
    for dimension in ("customer", "store", "employee"):
        assert sum(n for (_, r), n in unknown.items() if r == f"unknown_{dimension}") == 0, unknown
    # every order of the two days is in silver unless a fault made it invalid
    orders = dict(
        platform.query(
            "SELECT transaction_date, count(*) FROM retail_silver.orders "
            f"WHERE transaction_date IN (DATE '{CLI_DAY}', DATE '{JOB_DAY}') GROUP BY ALL"
        )
    )
    assert set(orders) == {CLI_DAY, JOB_DAY}
    # both days at 2.5x the history's volume (weekday and season vary it)
    assert all(
        1.6 * DEFAULT_ORDERS_PER_DAY < n < 4 * DEFAULT_ORDERS_PER_DAY for n in orders.values()
    )
    landed, bad = injected[("orders", "rows")], _bad_orders(injected)
    assert landed - bad <= sum(orders.values()) <= landed, (orders, landed, bad)


def test_the_only_unknown_rejects_are_the_injected_faults(continued):
    platform, injected, _ = continued
    unknown = _rejects(platform, "unknown_%")
    assert set(r for _, r in unknown) <= {"unknown_product", "unknown_order"}, unknown
    # unknown products: exactly the rows the simulator says it pointed at P9999
    for entity in ("order_items", "inventory"):
        assert unknown[(entity, "unknown_product")] == injected[(entity, "unknown_product")], entity
    # unknown orders: only rows of the orders a fault made invalid
    bad_orders = _bad_orders(injected)
    orphans = sum(n for (_, reason), n in unknown.items() if reason == "unknown_order")
    assert orphans <= ROWS_PER_ORDER * bad_orders, (orphans, bad_orders)
    # and the faults stay within the configured rate (0.2% of fact rows, a few rows here)
    assert bad_orders <= 5 * BUSY_CONFIG.faults.bad_rows * injected[("orders", "rows")] + 3
    assert sum(unknown.values()) < 0.02 * injected[("orders", "rows")], unknown
