"""A key that moves to another day lives on one day only, whatever way the days are run.

The source re-dates an order (its newer version lands in a later day's folder with that
day's transaction_date) and re-sends an order line in the next day's folder. Run the days
as one run, day by day forwards, backwards, and with re-runs of old days: silver, gold and
the marts are identical every time, hold each key once, and equal the contract's numbers
computed straight from the landing files.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from retail_platform.lib.landing_zone import LocalLandingZone, landing_path
from retail_platform.lib.simulator import FaultConfig, SimulationConfig, simulate
from retail_platform_tests.helpers.contract_model import ContractModel, latest_rows
from retail_platform_tests.helpers.local_platform import LocalPlatform

pytestmark = pytest.mark.faults

FIRST = date(2025, 3, 3)
DAYS = [FIRST + timedelta(days=i) for i in range(3)]
LAYERS = ("retail_silver", "retail_gold", "retail_marts")


def _write(root: Path, entity: str, day: date, batch: str, rows: list[dict]) -> None:
    path = root / landing_path(entity, day, batch, "jsonl")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row, default=str) + "\n" for row in rows))


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> dict:
    """Three simulated days (no invalid rows), then an order of day 1 re-dated to day 3 and
    a line of another day-1 order re-sent, with a new quantity, in day 2's folder."""
    root = tmp_path_factory.mktemp("key-moves") / "landing"
    config = SimulationConfig(
        seed=5, orders_per_day=30, opened_on=FIRST, faults=FaultConfig(bad_rows=0.0)
    )
    simulate(LocalLandingZone(root=str(root)), config, start=FIRST, days=len(DAYS))
    rows = latest_rows(root)
    day1 = [o for o in rows["orders"] if o["transaction_date"] == DAYS[0].isoformat()]
    completed = sorted((o for o in day1 if o["status"] == "completed"), key=lambda o: o["order_id"])
    redated, other = dict(completed[0]), completed[1]
    redated.update(transaction_date=DAYS[2].isoformat(), updated_at=f"{DAYS[2]}T09:00:00Z")
    _write(root, "orders", DAYS[2], "redated-orders", [redated])
    line = next(dict(i) for i in rows["order_items"] if i["order_id"] == other["order_id"])
    line.update(
        transaction_date=DAYS[1].isoformat(),
        updated_at=f"{DAYS[1]}T09:00:00Z",
        quantity=int(line["quantity"]) + 2,
    )
    line.pop("line_amount", None)  # optional (contract): computed from the new quantity
    _write(root, "order_items", DAYS[1], "resent-lines", [line])
    return {"root": root, "order": redated, "line": line}


def _platform(landing: dict, folder: Path) -> LocalPlatform:
    folder.mkdir(parents=True, exist_ok=True)
    return LocalPlatform(landing_root=landing["root"], database=folder / "warehouse.duckdb")


# Each way of running the days: the runs (day indexes, a range each), and after which runs
# the tables are compared with the one-run load.
RUN_ORDERS = {
    # day by day forwards, then the old days again (a re-run must not bring back the order's
    # old version, nor the line's)
    "forwards_then_old_days_again": ([[0], [1], [2], [0], [1]], {3, 5}),
    "backwards": ([[2], [1], [0]], {3}),
    "later_days_first_then_a_range": ([[1, 2], [0], [0, 2]], {2, 3}),
}


@pytest.fixture(scope="module")
def one_run(landing, tmp_path_factory) -> LocalPlatform:
    platform = _platform(landing, tmp_path_factory.mktemp("one-run"))
    assert platform.run(DAYS[0], DAYS[-1]).success
    return platform


def test_one_run_holds_each_key_once_on_its_newest_day(one_run, landing):
    order, line = landing["order"], landing["line"]
    assert one_run.query(
        f"SELECT transaction_date FROM retail_silver.orders WHERE order_id = '{order['order_id']}'"
    ) == [(DAYS[2],)]
    assert one_run.query(
        "SELECT transaction_date, count(*) FROM retail_gold.fact_sales "
        f"WHERE order_id = '{order['order_id']}' GROUP BY ALL"
    ) == [(DAYS[2], 1)]
    # the re-sent line lives on its own day in silver and in its order (day 1) in gold
    assert one_run.query(
        "SELECT transaction_date, quantity FROM retail_silver.order_items "
        f"WHERE order_id = '{line['order_id']}' AND line_no = {int(line['line_no'])}"
    ) == [(DAYS[1], line["quantity"])]
    nested = one_run.query(
        "SELECT f.transaction_date, item.quantity FROM retail_gold.fact_sales AS f, "
        "unnest(f.line_items) AS t(item) "
        f"WHERE f.order_id = '{line['order_id']}' AND item.line_no = {int(line['line_no'])}"
    )
    assert nested == [(DAYS[0], line["quantity"])]


def test_one_run_equals_the_contract_computed_from_the_files(one_run, landing):
    expected = ContractModel(landing["root"]).daily_sales()
    rows = one_run.query(
        "SELECT transaction_date, store_id, orders, items_sold, gross_revenue, net_revenue "
        "FROM retail_marts.agg_daily_sales"
    )
    got = {(r[0], r[1]): r[2:] for r in rows}
    want = {
        key: (v["orders"], v["items_sold"], v["gross_revenue"], v["net_revenue"])
        for key, v in expected.items()
    }
    assert got == want


@pytest.mark.parametrize("order", sorted(RUN_ORDERS))
def test_any_way_of_running_the_days_gives_the_same_tables(order, one_run, landing, tmp_path):
    platform = _platform(landing, tmp_path)
    expected = one_run.snapshot(*LAYERS)
    runs, compare_after = RUN_ORDERS[order]
    for done, indexes in enumerate(runs, start=1):
        days = [DAYS[i] for i in indexes]
        platform.run_out_of_order(min(days), max(days))
        if done in compare_after:
            got = platform.snapshot(*LAYERS)
            assert got.keys() == expected.keys()
            assert [table for table in expected if got[table] != expected[table]] == [], done
