"""Silver, gold and marts: idempotent, order-independent, late-data aware, guarded by checks."""

import json
from collections import Counter
from datetime import date, timedelta

import dagster as dg
import pytest

from retail_platform.defs.raw.assets import raw_asset_key
from retail_platform.defs.transforms.assets import (
    MAX_REJECT_RATE_TAG,
    dbt_models,
    dbt_partitioned_models,
)
from retail_platform.lib.entities import ENTITIES
from retail_platform.lib.landing_zone import landing_path
from retail_platform.lib.simulator import FaultConfig, SimulationConfig, simulate, simulate_day
from retail_platform_tests.conftest import WEEK_DAYS, WEEK_START
from retail_platform_tests.helpers.local_platform import RUN_TIME_COLUMNS, LocalPlatform, days

LAYERS = ("retail_silver", "retail_gold", "retail_marts")
RAW = [raw_asset_key(name) for name in ENTITIES]
PARTITIONED = list(dbt_partitioned_models.keys)
UNPARTITIONED = [  # the churn layer and the mart over it have their own tests
    k for k in dbt_models.keys if k.path[0] != "ml" and k.path[-1] != "customer_health"
]
WEEK = days(WEEK_START, WEEK_DAYS)


@pytest.fixture(scope="module")
def reference(week) -> dict:
    return week.snapshot(*LAYERS)


def test_days_loaded_newest_first_equal_the_single_run(week, reference, tmp_path):
    """`week` itself is the single-run backfill (oldest day first, one window); here a fresh
    warehouse gets its last three days one run each, newest first, then the older days as
    one window, and must end up identical."""
    platform = LocalPlatform(landing_root=week.landing_root, database=tmp_path / "warehouse.duckdb")
    assert platform.run(WEEK[0], WEEK[-1], selection=RAW).success  # raw: the landed log
    for day in reversed(WEEK[-3:]):  # each may fail its reject-rate gate until older days run
        platform.run_out_of_order(day, selection=PARTITIONED)
    assert platform.run(WEEK[0], WEEK[-4], selection=PARTITIONED).success
    assert platform.run(WEEK[-1], selection=UNPARTITIONED).success
    assert platform.snapshot(*LAYERS) == reference


def test_rerunning_a_partition_changes_nothing(week, reference, tmp_path):
    platform = week.copy_to(tmp_path)
    assert platform.run(WEEK[3]).success
    assert platform.snapshot(*LAYERS) == reference


def test_a_partitioned_table_reports_the_rows_of_the_runs_days(week, tmp_path):
    """Each day a run materializes carries the rows of the run's days as dagster/row_count
    and dagster/partition_row_count (a range run materializes each of its days with the
    range's total), with each day's rows for a range, and the whole table's as
    table_row_count. A merged dimension's rows of a day are the keys whose current version
    landed that day."""
    platform = week.copy_to(tmp_path)
    two_days = platform.run(WEEK[1], WEEK[2], selection=PARTITIONED)
    one_day = platform.run(WEEK[4], selection=PARTITIONED)
    for result, run_days in ((two_days, WEEK[1:3]), (one_day, WEEK[4:5])):
        materialized = {}
        for event in result.get_asset_materialization_events():
            materialization = event.step_materialization_data.materialization
            materialized.setdefault(materialization.asset_key.to_user_string(), {})[
                materialization.partition
            ] = materialization.metadata
        for asset in (
            "gold/fact_sales",
            "silver/rejects",
            "silver/customers",
            "gold/dim_customers",
        ):
            table = "retail_" + asset.replace("/", ".")
            counted = dict(platform.query(
                f"SELECT transaction_date, count(*) FROM {table} GROUP BY 1"))  # fmt: skip
            per_day = {day.isoformat(): counted.get(day, 0) for day in run_days}
            assert sorted(materialized[asset]) == sorted(per_day), asset
            for metadata in materialized[asset].values():
                assert metadata["dagster/row_count"].value == sum(per_day.values()), asset
                assert metadata["dagster/partition_row_count"].value == sum(per_day.values())
                assert metadata["table_row_count"].value == sum(counted.values()), asset
                if len(run_days) > 1:
                    assert metadata["rows_by_day"].value == per_day, asset
                else:
                    assert "rows_by_day" not in metadata, asset
            if asset != "silver/rejects":  # the week has no invalid rows
                assert 0 < sum(per_day.values()) < sum(counted.values()), asset


def business_data(snapshot: dict, platform: LocalPlatform) -> dict:
    """The snapshot without bookkeeping: lineage columns (``_*``) and reconciliation tables."""
    result = {}
    for table, rows in snapshot.items():
        if table.endswith("reconciliation"):
            continue
        schema, name = table.split(".")
        columns = [c for (c,) in platform.query(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = "
            f"'{schema}' AND table_name = '{name}' ORDER BY ordinal_position")
            if c not in RUN_TIME_COLUMNS]  # fmt: skip
        keep = [i for i, c in enumerate(columns) if not c.startswith("_")]
        result[table] = sorted(tuple(row[i] for i in keep) for row in rows)
    return result


def test_a_redelivered_file_changes_nothing(week, reference, tmp_path):
    platform = week.copy_to(tmp_path)
    original = landing_path("orders", WEEK[1], f"batch-{WEEK[1]:%Y%m%d}-main", "jsonl")
    copy = landing_path("orders", WEEK[1], f"batch-{WEEK[1]:%Y%m%d}-main-again", "jsonl")
    platform.landing.write_bytes(copy, platform.landing.read_bytes(original))
    assert platform.run(WEEK[1]).success
    # The data is the same; the bookkeeping counts the extra copies as duplicates removed.
    assert business_data(platform.snapshot(*LAYERS), platform) == business_data(reference, week)
    assert platform.query(
        "SELECT count(*) FROM retail_silver.reconciliation WHERE unexplained_rows <> 0"
    ) == [(0,)]
    assert platform.query(
        f"SELECT count(*) FROM retail_raw.orders WHERE _source_file = '{copy}'"
    ) == [(len(platform.landing.read_bytes(original).splitlines()),)]


def test_a_late_row_changes_its_day_after_that_day_reruns_and_nothing_else(week, tmp_path):
    platform = week.copy_to(tmp_path)
    day = WEEK[2]
    order_id, net = platform.query(
        f"SELECT order_id, net_amount FROM retail_gold.fact_sales WHERE transaction_date = '{day}' "
        "AND status = 'completed' AND net_amount > 0 ORDER BY order_id LIMIT 1"
    )[0]
    main = landing_path("orders", day, f"batch-{day:%Y%m%d}-main", "jsonl")
    row = next(
        json.loads(line)
        for line in platform.landing.read_bytes(main).splitlines()
        if json.loads(line)["order_id"] == order_id
    )
    row.update(status="returned", updated_at=f"{day + timedelta(days=9)}T12:00:00Z")
    late = landing_path("orders", day, f"batch-{day:%Y%m%d}-late-test", "jsonl")
    platform.landing.write_bytes(late, (json.dumps(row) + "\n").encode())

    def revenue_by_day():
        return dict(platform.query(
            "SELECT transaction_date, sum(net_revenue) FROM retail_marts.agg_daily_sales GROUP BY 1"
        ))  # fmt: skip

    before = revenue_by_day()
    assert platform.run(day).success
    after = revenue_by_day()
    assert after[day] == before[day] - net
    assert {d: v for d, v in after.items() if d != day} == {
        d: v for d, v in before.items() if d != day
    }
    assert platform.query(
        f"SELECT status FROM retail_silver.orders WHERE order_id = '{order_id}'"
    ) == [("returned",)]


def test_a_duplicate_in_silver_fails_the_dedup_check_and_blocks_gold(week, tmp_path):
    platform = week.copy_to(tmp_path)
    import duckdb

    with duckdb.connect(str(platform.database)) as connection:
        connection.execute(
            "INSERT INTO retail_silver.customers "
            "SELECT * FROM retail_silver.customers ORDER BY customer_id LIMIT 1"
        )
    result = platform.run(WEEK[4], raise_on_error=False)

    checks = {
        (e.asset_key.to_user_string(), e.check_name): e.passed
        for e in result.get_asset_check_evaluations()
    }
    assert checks[("silver/customers", "unique_customers_customer_id")] is False
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "silver/customers" in materialized
    assert "gold/dim_customers" not in materialized
    # an order is valid only if its customer has a valid version in silver/customers
    # (contract: no fact refers to a missing dimension row), so the orders wait too, and so
    # does silver/rejects; every gold fact waits for silver/rejects (the reject-rate gate,
    # sql/macros/reject_rate.sql); a silver table that does not read customers is built
    assert "silver/orders" not in materialized and "gold/fact_sales" not in materialized
    assert "silver/rejects" not in materialized and "gold/fact_inventory" not in materialized
    assert "silver/inventory" in materialized


def _rebuilt_with_check(platform: LocalPlatform, day: date, table: str, asset: str, check: str):
    """The reconciliation table ``table`` rebuilt for ``day`` and the check ``check`` of
    ``asset`` run against it, without rebuilding the layers they compare."""
    selection = dg.AssetSelection.assets(dg.AssetKey(table.split("/"))) | dg.AssetSelection.checks(
        dg.AssetCheckKey(dg.AssetKey(asset.split("/")), check)
    )
    result = platform.run(day, selection=selection, raise_on_error=False)
    evaluation = {e.check_name: e for e in result.get_asset_check_evaluations()}[check]
    # the reconciliation checks are blocking: a check that fails fails the run
    assert result.success is evaluation.passed
    return evaluation


def test_a_raw_row_missing_from_silver_fails_the_row_reconciliation(week, tmp_path):
    """A raw order that silver neither kept, rejected nor superseded by another version (as
    a silver bug would lose it) makes that day's raw = silver + rejects + superseded false."""
    platform = week.copy_to(tmp_path)
    day = WEEK[2]
    with platform.connect() as connection:
        connection.execute(
            "INSERT INTO retail_raw.orders SELECT * REPLACE ('ORD-LOST' AS order_id) "
            f"FROM retail_raw.orders WHERE CAST(_partition_date AS DATE) = DATE '{day}' LIMIT 1"
        )
    evaluation = _rebuilt_with_check(
        platform, day, "silver/reconciliation", "silver/orders", "rows_reconcile_with_raw"
    )
    assert evaluation.passed is False
    assert evaluation.metadata["unexplained_rows_by_day"].value == {day.isoformat(): 1}


def test_a_silver_line_that_disagrees_with_gold_fails_the_revenue_check(week, tmp_path):
    platform = week.copy_to(tmp_path)
    day = WEEK[3]
    with platform.connect() as connection:
        connection.execute(
            "UPDATE retail_silver.order_items SET quantity = quantity + 1 WHERE (order_id, "
            "line_no) = (SELECT (lines.order_id, lines.line_no) FROM retail_silver.order_items "
            "AS lines JOIN retail_silver.orders USING (order_id, transaction_date) "
            f"WHERE lines.transaction_date = DATE '{day}' AND orders.status = 'completed' "
            "ORDER BY lines.order_id, lines.line_no LIMIT 1)"
        )
    evaluation = _rebuilt_with_check(
        platform, day, "gold/revenue_reconciliation", "gold/fact_sales", "revenue_matches_silver"
    )
    assert evaluation.passed is False
    assert list(evaluation.metadata["differences_by_day"].value) == [day.isoformat()]


@pytest.fixture(scope="module")
def faulty(tmp_path_factory) -> tuple[LocalPlatform, Counter]:
    """Two days with many invalid rows, and what the simulator says it injected."""
    root = tmp_path_factory.mktemp("faulty")
    platform = LocalPlatform(landing_root=root / "landing", database=root / "warehouse.duckdb")
    config = SimulationConfig(seed=11, orders_per_day=120, faults=FaultConfig(bad_rows=0.03))
    start = date(2025, 1, 1)
    simulate(platform.landing, config, start=start, days=2)
    injected = Counter()
    for day in days(start, 2):
        for batch in simulate_day(config, day):
            if not batch.is_redelivery:
                for kind, count in batch.faults.items():
                    if kind.startswith("bad_rows:"):
                        injected[(batch.entity, kind.removeprefix("bad_rows:"))] += count
    # Fault rates far above a real day's, to exercise the contract's rules: the reject-rate
    # gate (test_bad_days.py) would stop these days before gold, so this run accepts them.
    assert platform.run(start, start + timedelta(days=1), tags={MAX_REJECT_RATE_TAG: "1"}).success
    return platform, injected


REASON_FOR = {
    "null_key": "null_key",
    "partition_mismatch": "partition_mismatch",
    "negative_quantity": "non_positive_quantity",
    "unknown_product": "unknown_product",
    "line_amount_mismatch": "line_amount_mismatch",
}
IMPOSSIBLE_DATE_REASON = {
    "orders": "invalid_ordered_at", "payments": "invalid_paid_at", "shipments": "invalid_shipped_at"
}  # fmt: skip


def test_every_invalid_row_lands_in_rejects_with_its_reason(faulty):
    platform, injected = faulty
    assert injected, "the simulator injected no invalid rows"
    rejected = Counter(
        {(e, r): n for e, r, n in platform.query(
            "SELECT entity, reason, count(*) FROM retail_silver.rejects GROUP BY ALL")}
    )  # fmt: skip
    for (entity, kind), count in injected.items():
        reason = IMPOSSIBLE_DATE_REASON[entity] if kind == "impossible_date" else REASON_FOR[kind]
        assert rejected[(entity, reason)] >= count, (entity, kind)


def test_every_reject_keeps_the_values_it_landed_with(faulty):
    """The payload is the raw row's contract columns as landed (an uncastable date stays the
    text that failed), for every reject."""
    platform, _ = faulty
    rejects = platform.query(
        "SELECT entity, source_file, source_line, payload FROM retail_silver.rejects"
    )
    assert rejects
    for entity, source_file, source_line, payload in rejects:
        landed = json.loads(payload)
        columns = ", ".join(landed)
        raw = platform.query(
            f"SELECT {columns} FROM retail_raw.{entity} "
            f"WHERE _source_file = '{source_file}' AND _source_line = {source_line}"
        )
        assert raw == [tuple(landed.values())], (entity, source_file, source_line)
        assert {"transaction_date", "updated_at"} <= set(landed)


def test_no_invalid_row_reaches_silver_and_nothing_goes_missing(faulty):
    platform, _ = faulty
    assert platform.query(
        "SELECT count(*) FROM retail_silver.order_items "
        "WHERE quantity <= 0 OR product_id = 'P9999' OR order_id IS NULL "
        "OR abs(line_amount - round(quantity * unit_price * (1 - discount_rate), 2)) > 0.01"
    ) == [(0,)]
    assert platform.query(
        "SELECT count(*) FROM retail_silver.orders WHERE order_id IS NULL OR ordered_at IS NULL"
    ) == [(0,)]
    assert platform.query(
        "SELECT count(*), sum(unexplained_rows) FROM retail_silver.reconciliation"
    ) == [(10, 0)]


def _main_rows(platform: LocalPlatform, entity: str, day: date) -> list[dict]:
    main = landing_path(entity, day, f"batch-{day:%Y%m%d}-main", "jsonl")
    return [json.loads(line) for line in platform.landing.read_bytes(main).splitlines()]


def _land(platform: LocalPlatform, entity: str, day: date, batch: str, rows: list[dict]) -> None:
    path = landing_path(entity, day, f"batch-{day:%Y%m%d}-{batch}", "jsonl")
    platform.landing.write_bytes(path, "".join(json.dumps(r) + "\n" for r in rows).encode())


def test_integrity_rules_of_the_contract_hold_across_runs(week, tmp_path):
    """On the week's last day D land: an order in the wrong folder (partition_mismatch) with
    its lines, a payment and a shipment; and a valid order none of whose lines is valid.
    The payment and shipment are unknown_order and reach no gold table; the order without
    a valid line is in fact_sales, incomplete and no sale. Then day D+1 lands a valid
    version of the first order, a valid line of the second, and inventory for every pair
    but one (whose row is rejected): running D+1 alone puts the payment and shipment on D,
    makes the second order a sale on D, and the pair shows its day-D stock."""
    platform = week.copy_to(tmp_path)
    day, next_day = WEEK[-1], WEEK[-1] + timedelta(days=1)
    order = dict(_main_rows(platform, "orders", day)[0], status="completed")
    moved = dict(order, order_id="O-TEST-MOVED", transaction_date=f"{day - timedelta(days=1)}")
    empty = dict(order, order_id="O-TEST-EMPTY")
    line = _main_rows(platform, "order_items", day)[0]
    lines = [dict(line, order_id="O-TEST-MOVED", transaction_date=f"{day}"),
             dict(line, order_id="O-TEST-EMPTY", quantity=0, line_amount=0)]  # fmt: skip
    payment = dict(_main_rows(platform, "payments", day)[0], payment_id="PAY-TEST",
                   order_id="O-TEST-MOVED", status="succeeded")  # fmt: skip
    shipment = dict(_main_rows(platform, "shipments", day)[0], shipment_id="SHP-TEST",
                    order_id="O-TEST-MOVED")  # fmt: skip
    for entity, rows in (("orders", [moved, empty]), ("order_items", lines),
                         ("payments", [payment]), ("shipments", [shipment])):  # fmt: skip
        _land(platform, entity, day, "integrity-test", rows)

    def daily(table: str, columns: str) -> set[tuple]:
        return set(platform.query(f"SELECT {columns} FROM retail_marts.{table}"))

    mix_before = daily("payment_mix", "transaction_date, method, payments, amount")
    sales_before = daily("agg_daily_sales", "transaction_date, store_id, orders, net_revenue")
    assert platform.run(day).success
    rejected = dict(platform.query(
        "SELECT natural_key, reason FROM retail_silver.rejects WHERE natural_key IN "
        "('O-TEST-MOVED', 'PAY-TEST', 'SHP-TEST') OR natural_key LIKE 'O-TEST-EMPTY%'"
    ))  # fmt: skip
    assert rejected == {
        "O-TEST-MOVED": "partition_mismatch",
        "PAY-TEST": "unknown_order",
        "SHP-TEST": "unknown_order",
        "O-TEST-EMPTY|1": "non_positive_quantity",
    }
    for table in ("fact_payments", "fact_shipments"):
        assert platform.query(
            f"SELECT count(*) FROM retail_gold.{table} WHERE order_id LIKE 'O-TEST-%'"
        ) == [(0,)]
    assert platform.query(
        "SELECT order_id, transaction_date, is_incomplete, is_sale, net_revenue "
        "FROM retail_gold.fact_sales WHERE order_id LIKE 'O-TEST-%'"
    ) == [("O-TEST-EMPTY", day, True, False, 0)]
    assert daily("payment_mix", "transaction_date, method, payments, amount") == mix_before
    assert daily("agg_daily_sales", "transaction_date, store_id, orders, net_revenue") == (
        sales_before
    )

    inventory = _main_rows(platform, "inventory", day)
    kept_out = inventory[0]
    pairs = {(r["store_id"], r["product_id"]) for r in inventory}  # the file has duplicates
    valid = [
        dict(r, transaction_date=f"{next_day}", on_hand=r["on_hand"] + 1)
        for r in inventory
        if (r["store_id"], r["product_id"]) != (kept_out["store_id"], kept_out["product_id"])
    ]
    _land(platform, "inventory", next_day, "main", [dict(kept_out, on_hand=99), *valid])
    _land(platform, "orders", next_day, "main", [dict(moved, transaction_date=f"{next_day}")])
    late_line = dict(line, order_id="O-TEST-EMPTY", line_no=2, transaction_date=f"{next_day}")
    _land(platform, "order_items", next_day, "main", [late_line])
    assert platform.run(next_day).success
    assert platform.query(
        "SELECT payment_id, transaction_date FROM retail_gold.fact_payments "
        "WHERE order_id = 'O-TEST-MOVED'"
    ) == [("PAY-TEST", day)]
    assert platform.query(
        "SELECT shipment_id, transaction_date, store_id FROM retail_gold.fact_shipments "
        "WHERE order_id = 'O-TEST-MOVED'"
    ) == [("SHP-TEST", day, order["store_id"])]
    assert sorted(platform.query(
        "SELECT order_id, transaction_date, is_incomplete, is_sale, line_count "
        "FROM retail_gold.fact_sales WHERE order_id LIKE 'O-TEST-%'"
    )) == [
        ("O-TEST-EMPTY", day, False, True, 1),
        ("O-TEST-MOVED", next_day, False, True, 1),
    ]  # fmt: skip
    assert platform.query(
        "SELECT count(*) FROM retail_silver.rejects WHERE natural_key IN ('PAY-TEST', 'SHP-TEST')"
    ) == [(0,)]
    [(payments,)] = platform.query(
        f"SELECT payments FROM retail_marts.payment_mix WHERE transaction_date = '{day}' "
        f"AND method = '{payment['method']}'"
    )
    assert (day, payment["method"], payments - 1) in {r[:3] for r in mix_before}
    alerts = platform.frame("SELECT * FROM retail_marts.store_inventory_alerts")
    assert len(alerts) == len(pairs)
    pair = alerts[(alerts.store_id == kept_out["store_id"])
                  & (alerts.product_id == kept_out["product_id"])]  # fmt: skip
    assert (pair.as_of_date.iloc[0].date(), int(pair.on_hand.iloc[0])) == (day, kept_out["on_hand"])
    others = alerts.drop(pair.index)
    assert set(others.as_of_date.dt.date) == {next_day}
