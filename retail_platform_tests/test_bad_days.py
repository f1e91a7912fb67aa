"""A bad day is never green (issue 20): real Dagster runs on two tiny simulated days.

* Reject rate: a day whose orders are 30 % invalid fails silver/orders'
  ``reject_rate_orders`` (a dbt test, severity error) with its top reasons, counts and
  example rows on the check; dbt skips gold for the run, so gold/fact_sales keeps the
  day's rows from before, and the run is not a success. A normal simulated day (the
  simulator's own faults at their default rates) passes.
* Nothing landed: a day with only dimension files warns ``files_landed`` on raw/orders.
* Quarantined files: the raw materialization lists the day's files in quarantine and
  ``no_unresolved_quarantine`` warns until a corrected file lands at the same path.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import dagster as dg
import pytest

from retail_platform.defs.transforms.assets import MAX_REJECT_RATE_TAG
from retail_platform.lib.landing_zone import landing_path
from retail_platform.lib.simulator import SimulationConfig, simulate
from retail_platform_tests.helpers.handmade import jsonl, row
from retail_platform_tests.helpers.local_platform import LocalPlatform

DAY_1 = date(2025, 1, 1)
DAY_2 = date(2025, 1, 2)
DAY_3 = date(2025, 1, 3)  # dimension files only
ORDERS = dg.AssetKey(["raw", "orders"])
CUSTOMERS = dg.AssetKey(["raw", "customers"])
FACT_SALES_DAY_2 = (
    "SELECT * FROM retail_gold.fact_sales "
    f"WHERE transaction_date = DATE '{DAY_2}' ORDER BY order_id"
)


def check_results(
    result: dg.ExecuteInProcessResult,
) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {
        (e.asset_key.to_user_string(), e.check_name): e
        for e in result.get_asset_check_evaluations()
    }


@pytest.fixture(scope="module")
def platform(tmp_path_factory) -> LocalPlatform:
    """Two simulated days (default faults: 0.2 % bad rows), loaded by one run."""
    root = tmp_path_factory.mktemp("bad_days")
    platform = LocalPlatform(landing_root=root / "landing", database=root / "warehouse.duckdb")
    simulate(platform.landing, SimulationConfig(seed=20, orders_per_day=40), start=DAY_1, days=2)
    result = platform.run(DAY_1, DAY_2)
    checks = check_results(result)
    platform.first_run_checks = checks  # type: ignore[attr-defined]
    assert result.success
    return platform


def test_a_normal_day_passes_the_reject_rate_checks(platform):
    checks = platform.first_run_checks
    for entity in ("orders", "order_items", "payments", "shipments", "inventory"):
        evaluation = checks[(f"silver/{entity}", f"reject_rate_{entity}")]
        assert evaluation.passed, entity
        assert evaluation.severity == dg.AssetCheckSeverity.ERROR


def test_a_day_with_30_percent_invalid_orders_fails_and_does_not_reach_gold(platform, tmp_path):
    bad = platform.copy_to(tmp_path / "bad")
    before = bad.query(FACT_SALES_DAY_2)
    before_ids = {
        order_id for (order_id,) in bad.query(f"SELECT order_id FROM ({FACT_SALES_DAY_2})")
    }
    assert before
    orders = [p for p in bad.landing.list_files("orders", DAY_2)]
    broken = 0
    broken_ids, intact_ids = set(), set()
    for file in orders:
        lines = bad.landing.read_bytes(file.path).decode().splitlines()
        rows = [json.loads(line) for line in lines]
        for number, record in enumerate(rows):
            if number % 10 < 3:  # 30 % of the orders
                record["ordered_at"] = "not a time"
                broken += 1
                broken_ids.add(record["order_id"])
            else:
                intact_ids.add(record["order_id"])
        bad.landing.write_bytes(file.path, jsonl(rows))
    assert broken >= 5

    result = bad.run(DAY_2, raise_on_error=False)

    assert not result.success
    evaluation = check_results(result)[("silver/orders", "reject_rate_orders")]
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR
    metadata = evaluation.metadata
    assert metadata["failures_table"].value == "retail_audit.reject_rate_orders"
    table = metadata["failing_rows"].value
    assert "invalid_ordered_at" in table and "not a time" in table
    stored = bad.query(
        "SELECT reason, rows_with_reason, landed_rows, example_1, example_3 "
        "FROM retail_audit.reject_rate_orders ORDER BY rows_with_reason DESC"
    )
    assert stored[0][0] == "invalid_ordered_at" and stored[0][1] >= broken
    assert stored[0][3] and stored[0][4]  # three examples
    # gold was not built for the run: the day's sales are as they were
    assert bad.query(FACT_SALES_DAY_2) == before
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert dg.AssetKey(["gold", "fact_sales"]) not in materialized
    # the rest of silver was written: the day's rejects are there to read, with the reason
    assert dg.AssetKey(["silver", "rejects"]) in materialized
    assert dg.AssetKey(["silver", "payments"]) in materialized
    assert bad.query(
        "SELECT count(*) FROM retail_silver.rejects "
        f"WHERE entity = 'orders' AND reason = 'invalid_ordered_at' "
        f"AND transaction_date = DATE '{DAY_2}'"
    ) == [(broken,)]

    # Accepted on purpose for one run (run tag): gold takes the day without the bad orders.
    accepted = bad.run(DAY_2, tags={MAX_REJECT_RATE_TAG: "0.6"})
    assert accepted.success
    assert check_results(accepted)[("silver/orders", "reject_rate_orders")].passed
    # an order leaves the day's sales when every version of it landed that day is broken
    gone = broken_ids - intact_ids
    assert gone
    after = bad.query(f"SELECT order_id FROM ({FACT_SALES_DAY_2})")
    assert {order_id for (order_id,) in after} == before_ids - gone


def raw_checks(
    result: dg.ExecuteInProcessResult, entity: str
) -> dict[str, dg.AssetCheckEvaluation]:
    return {
        e.check_name: e
        for e in result.get_asset_check_evaluations()
        if e.asset_key == dg.AssetKey(["raw", entity])
    }


def test_a_day_without_order_files_warns_and_a_quarantined_file_warns_until_corrected(
    platform, tmp_path
):
    day3 = platform.copy_to(tmp_path / "day3")
    day3.landing.write_bytes(
        landing_path("customers", DAY_3, "only-dims", "jsonl"),
        jsonl([row("customers", DAY_3, customer_id="C-NEW")]),
    )
    bad = landing_path("customers", DAY_3, "broken", "jsonl")
    day3.landing.write_bytes(bad, b"{not json\n")

    # The raw step quarantines the broken file; orders has no file at all that day.
    result = day3.run(DAY_3, selection=[ORDERS, CUSTOMERS])
    assert result.success  # warnings only: the day with only dimension files still works
    orders = raw_checks(result, "orders")["files_landed"]
    assert not orders.passed and orders.severity == dg.AssetCheckSeverity.WARN
    assert orders.description == f"no files landed for {DAY_3}"
    customers = raw_checks(result, "customers")
    assert "files_landed" not in customers  # dimensions do not deliver every day
    quarantine = customers["no_unresolved_quarantined_files"]
    assert not quarantine.passed and quarantine.severity == dg.AssetCheckSeverity.WARN
    assert bad in quarantine.metadata["files"].value
    materialization = next(
        e.materialization
        for e in result.get_asset_materialization_events()
        if e.materialization.asset_key == CUSTOMERS
    )
    assert set(materialization.metadata["files_in_quarantine"].value) == {bad}

    # Still in quarantine on the next run of the day.
    again = day3.run(DAY_3, selection=[CUSTOMERS])
    assert not raw_checks(again, "customers")["no_unresolved_quarantined_files"].passed

    # A corrected file lands under the same name: resolved, and the check passes.
    day3.landing.write_bytes(bad, jsonl([row("customers", DAY_3, customer_id="C-FIX")]))
    fixed = day3.run(DAY_3, selection=[CUSTOMERS])
    assert raw_checks(fixed, "customers")["no_unresolved_quarantined_files"].passed
    assert day3.landing.list_quarantined() == []
    assert day3.landing.read_bytes("quarantine/resolved/" + bad) == b"{not json\n"


def test_a_normal_day_has_files_and_nothing_in_quarantine(platform):
    checks = platform.first_run_checks
    for entity in ("orders", "order_items", "payments", "inventory"):
        assert checks[(f"raw/{entity}", "files_landed")].passed, entity
    assert checks[("raw/orders", "no_unresolved_quarantined_files")].passed


def test_yesterdays_orders_must_be_loaded_by_the_deadline_hour(monkeypatch):
    from dagster._core.test_utils import freeze_time

    from retail_platform.defs.freshness import (
        DEADLINE_HOUR_ENV,
        RAW_ORDERS,
        expected_day,
        orders_freshness_job,
        orders_on_time,
    )
    from retail_platform.lib.partitions import transaction_date_partitions

    assert expected_day(datetime(2025, 3, 10, 6, 0, tzinfo=UTC), 6) == date(2025, 3, 9)
    assert expected_day(datetime(2025, 3, 10, 5, 59, tzinfo=UTC), 6) == date(2025, 3, 8)
    monkeypatch.setenv(DEADLINE_HOUR_ENV, "7")
    defs = dg.Definitions(
        assets=[dg.AssetSpec(RAW_ORDERS, partitions_def=transaction_date_partitions)],
        asset_checks=[orders_on_time],
        jobs=[orders_freshness_job],
    )
    job = defs.resolve_job_def("raw_orders_freshness")
    instance = dg.DagsterInstance.ephemeral()

    def evaluate(at: datetime) -> dg.AssetCheckEvaluation:
        with freeze_time(at):
            (evaluation,) = job.execute_in_process(instance=instance).get_asset_check_evaluations()
        return evaluation

    late = evaluate(datetime(2025, 3, 10, 7, 30, tzinfo=UTC))
    assert not late.passed and late.severity == dg.AssetCheckSeverity.WARN
    assert late.description == "raw/orders 2025-03-09 was not loaded by 2025-03-10 07:00 UTC"
    assert evaluate(datetime(2025, 3, 10, 6, 30, tzinfo=UTC)).passed is False  # 03-08 neither
    instance.report_runless_asset_event(
        dg.AssetMaterialization(asset_key=RAW_ORDERS, partition="2025-03-09")
    )
    assert evaluate(datetime(2025, 3, 10, 7, 30, tzinfo=UTC)).passed
