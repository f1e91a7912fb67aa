"""The landing sensor, evaluated with build_sensor_context on both landing zones."""

from datetime import date

import dagster as dg
import pytest

from retail_platform.defs.jobs import daily_pipeline
from retail_platform.defs.landing.cursor import LandingCursor, next_files
from retail_platform.defs.landing.sensors import build_landing_sensor
from retail_platform.lib.landing_zone import LandingFile, landing_path
from retail_platform_tests.handmade import jsonl, row

DAY = date(2025, 2, 3)


def tick(sensor, zone, cursor: str | None):
    context = dg.build_sensor_context(cursor=cursor, resources={"landing_zone": zone})
    result = sensor(context)
    requests = result.run_requests if isinstance(result, dg.SensorResult) else []
    return requests or [], context.cursor


def drop(zone, entity: str, day: date, batch: str, content: bytes | None = None) -> str:
    path = landing_path(entity, day, batch, "jsonl")
    zone.write_bytes(path, content if content is not None else jsonl([row(entity, day)]))
    return path


@pytest.fixture
def sensor():
    return build_landing_sensor(daily_pipeline, max_files_per_tick=10)


def test_new_file_same_file_changed_file(sensor, zone):
    drop(zone, "orders", DAY, "b1")
    requests, cursor = tick(sensor, zone, None)
    assert len(requests) == 1
    assert requests[0].partition_key == "2025-02-03"
    assert requests[0].asset_selection == [dg.AssetKey(["raw", "orders"])]

    again, cursor_after = tick(sensor, zone, cursor)
    assert again == []
    assert cursor_after == cursor

    drop(zone, "orders", DAY, "b1", jsonl([row("orders", DAY, order_id="O2")]))
    changed, _ = tick(sensor, zone, cursor)
    assert len(changed) == 1
    assert changed[0].run_key != requests[0].run_key


def test_one_run_per_partition_for_the_entities_that_received_files(sensor, zone):
    drop(zone, "orders", DAY, "b1")
    drop(zone, "order_items", DAY, "b1")
    drop(zone, "customers", date(2025, 2, 1), "late-1")  # a late file for an earlier day
    requests, _ = tick(sensor, zone, None)
    by_partition = {r.partition_key: r for r in requests}
    assert set(by_partition) == {"2025-02-01", "2025-02-03"}
    assert set(by_partition["2025-02-03"].asset_selection) == {
        dg.AssetKey(["raw", "orders"]),
        dg.AssetKey(["raw", "order_items"]),
    }
    assert by_partition["2025-02-01"].asset_selection == [dg.AssetKey(["raw", "customers"])]


def test_malformed_file_is_quarantined_and_good_files_still_run(sensor, zone):
    good = drop(zone, "orders", DAY, "good")
    bad = drop(zone, "orders", DAY, "bad", b'{"order_id": "O1", \n')
    requests, cursor = tick(sensor, zone, None)
    assert [r.partition_key for r in requests] == ["2025-02-03"]
    assert [f.path for f in zone.list_files()] == [good]
    report = zone.read_bytes(f"quarantine/{bad}.error.json").decode()
    assert "cannot parse JSON lines: line 1" in report
    assert zone.read_bytes(f"quarantine/{bad}") == b'{"order_id": "O1", \n'
    assert tick(sensor, zone, cursor)[0] == []


def test_a_file_missing_schema_columns_is_quarantined(sensor, local_zone):
    drop(local_zone, "payments", DAY, "b1", jsonl([{"payment_id": "P1"}]))
    requests, _ = tick(sensor, local_zone, None)
    assert requests == []
    report = local_zone.read_bytes(
        "quarantine/" + landing_path("payments", DAY, "b1", "jsonl") + ".error.json"
    )
    assert b"does not match the payments schema" in report


def test_work_per_tick_is_bounded_and_nothing_is_skipped(sensor, local_zone):
    days = [date(2025, 1, 1 + i) for i in range(25)]
    for day in days:
        drop(local_zone, "stores", day, "b1")
    cursor, seen, ticks = None, [], 0
    while True:
        requests, cursor = tick(sensor, local_zone, cursor)
        if not requests:
            break
        ticks += 1
        assert len(requests) <= 10
        seen += [r.partition_key for r in requests]
    assert ticks == 3
    assert sorted(seen) == [d.isoformat() for d in days]


def test_cursor_handles_files_that_share_a_version():
    files = [LandingFile(version=5, path=f"stores/transaction_date=2025-01-0{i}/b.jsonl", size=1)
             for i in range(1, 4)]  # fmt: skip
    first, more = next_files(files, LandingCursor(), limit=2)
    assert more and [f.path for f in first] == [files[0].path, files[1].path]
    cursor = LandingCursor.parse(LandingCursor().advanced_past(first).serialize())
    second, more = next_files(files, cursor, limit=2)
    assert not more and second == [files[2]]
    cursor = cursor.advanced_past(second)
    assert next_files(files, cursor, limit=2) == ([], False)
    newer = LandingFile(version=6, path=files[0].path, size=2)
    assert next_files([*files[1:], newer], cursor, limit=2) == ([newer], False)


def test_a_tick_reads_at_most_its_byte_budget_but_always_one_file():
    files = [LandingFile(version=v, path=f"orders/transaction_date=2025-01-0{v}/b.jsonl", size=600)
             for v in range(1, 5)]  # fmt: skip
    taken, more = next_files(files, LandingCursor(), limit=10, max_bytes=1000)
    assert taken == files[:1] and more
    taken, more = next_files(files, LandingCursor(), limit=10, max_bytes=1200)
    assert taken == files[:2] and more
    huge = [LandingFile(version=1, path=files[0].path, size=10**9)]
    assert next_files(huge, LandingCursor(), limit=10, max_bytes=1000) == (huge, False)


def test_runs_carry_what_is_built_from_the_raw_assets_that_received_files(local_zone):
    silver_orders = dg.AssetKey(["silver", "orders"])
    silver_stores = dg.AssetKey(["silver", "stores"])
    daily_sales = dg.AssetKey(["marts", "agg_daily_sales"])
    downstream = {"orders": [silver_orders, daily_sales], "stores": [silver_stores, daily_sales]}
    sensor = build_landing_sensor(daily_pipeline, downstream=downstream)
    drop(local_zone, "orders", DAY, "b1")
    (request,), _ = tick(sensor, local_zone, None)
    assert request.asset_selection == [dg.AssetKey(["raw", "orders"]), daily_sales, silver_orders]


def test_a_day_without_reference_files_rebuilds_what_its_files_feed_in_two_dbt_steps(
    local_zone,
):
    """Orders and order items landed, no stores file: the run rebuilds silver orders up
    to the marts and the dashboard, not silver stores, never churn (its own jobs);
    Dagster plans it as the partitioned dbt models, then the other models."""
    from dagster._core.definitions.dependency import NodeHandle

    from retail_platform.definitions import defs

    drop(local_zone, "orders", DAY, "b1")
    drop(local_zone, "order_items", DAY, "b1")
    sensor = defs.resolve_sensor_def("landing_sensor")
    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_sensor_context(instance=instance, resources={"landing_zone": local_zone})
        [request] = sensor(context).run_requests
    selected = set(request.asset_selection)
    key = dg.AssetKey
    assert {key(["raw", "orders"]), key(["silver", "orders"]), key(["gold", "fact_sales"]),
            key(["marts", "agg_daily_sales"]), key(["marts", "dashboard"]),
            key(["marts", "customer_health"])} <= selected  # fmt: skip
    assert not selected & {key(["raw", "stores"]), key(["silver", "stores"]),
                           key(["gold", "dim_stores"]), key(["ml", "churn_features"]),
                           key(["ml", "churn_model"]), key(["ml", "churn_scores"])}  # fmt: skip
    run = defs.resolve_job_def("daily_pipeline").get_subset(asset_selection=selected)
    dbt_steps = [node for node in run.graph.node_dict if node.startswith("dbt")]
    assert sorted(dbt_steps) == ["dbt_models", "dbt_partitioned_models"], dbt_steps
    health = [
        node
        for node in dbt_steps
        if key(["marts", "customer_health"])
        in run.asset_layer.get_selected_entity_keys_for_node(NodeHandle(node, None))
    ]
    assert health == ["dbt_models"]
