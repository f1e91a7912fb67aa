"""The landing sensor, evaluated with build_sensor_context on both landing zones.

A tick runs at a frozen time (Dagster's clock, which the sensor reads): by default a
minute from now, past the local zone's settle time, so a file written by the test is
whole and taken; a test that needs another time passes ``at``.
"""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.test_utils import freeze_time

from retail_platform.defs.jobs import daily_pipeline
from retail_platform.defs.landing.cursor import (
    LandingCursor,
    PartitionWindow,
    next_files,
    plan_tick,
)
from retail_platform.defs.landing.sensors import build_landing_sensor
from retail_platform.lib.landing_zone import LandingFile, landing_path
from retail_platform_tests.helpers.handmade import jsonl, row

DAY = date(2025, 2, 3)
SETTLED = timedelta(minutes=1)  # longer than LocalLandingZone.settle_seconds


def tick(sensor, zone, cursor: str | None, at: datetime | None = None):
    with freeze_time(at or datetime.now(UTC) + SETTLED):
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
    with dg.DagsterInstance.ephemeral() as instance, freeze_time(datetime.now(UTC) + SETTLED):
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


def test_an_old_cursor_still_reads_and_an_empty_hold_keeps_the_old_format():
    old = '{"version": 7, "paths": ["orders/transaction_date=2025-01-01/b.jsonl"]}'
    cursor = LandingCursor.parse(old)
    assert (cursor.version, cursor.held) == (7, {})
    assert cursor.serialize() == old
    held = LandingCursor(
        7, cursor.paths_at_version, {"orders/transaction_date=2025-01-09/b.jsonl": 9}
    )
    assert LandingCursor.parse(held.serialize()) == held


def future_day(at: datetime) -> date:
    return at.date() + timedelta(days=1)


def test_dates_outside_the_partitions_do_not_stop_the_other_files(sensor, zone):
    """Before the start: quarantined with the reason. After today: held, then loaded on
    the first tick of its day. The good file of the same tick runs at once."""
    at = datetime.now(UTC) + SETTLED
    tomorrow = future_day(at)
    good = drop(zone, "orders", DAY, "good")
    early = drop(zone, "orders", date(2024, 12, 31), "early")
    ahead = drop(zone, "payments", tomorrow, "ahead")

    requests, cursor = tick(sensor, zone, None, at)
    assert [r.partition_key for r in requests] == [DAY.isoformat()]
    report = zone.read_bytes(f"quarantine/{early}.error.json").decode()
    assert "before the first partition, 2025-01-01" in report and "RETAIL_START_DATE" in report
    assert sorted(f.path for f in zone.list_files()) == sorted([good, ahead])
    assert LandingCursor.parse(cursor).held == {ahead: next(zone.list_files("payments")).version}

    assert tick(sensor, zone, cursor, at) == ([], cursor)  # still tomorrow: nothing to do
    (request,), cursor = tick(sensor, zone, cursor, at + timedelta(days=1))
    assert request.partition_key == tomorrow.isoformat()
    assert request.asset_selection == [dg.AssetKey(["raw", "payments"])]
    assert LandingCursor.parse(cursor).held == {}
    assert tick(sensor, zone, cursor, at + timedelta(days=1))[0] == []


def test_a_held_file_that_is_rewritten_or_deleted_is_judged_again(sensor, local_zone):
    at = datetime.now(UTC) + SETTLED
    ahead = drop(local_zone, "orders", future_day(at), "ahead")
    gone = drop(local_zone, "orders", future_day(at), "gone")
    _, cursor = tick(sensor, local_zone, None, at)
    assert set(LandingCursor.parse(cursor).held) == {ahead, gone}
    Path(local_zone.root, gone).unlink()
    drop(local_zone, "orders", future_day(at), "ahead", jsonl([row("orders", DAY, order_id="O9")]))
    at = datetime.now(UTC) + SETTLED
    _, cursor = tick(sensor, local_zone, cursor, at)
    assert LandingCursor.parse(cursor).held == {ahead: next(local_zone.list_files()).version}
    (request,), _ = tick(sensor, local_zone, cursor, at + timedelta(days=1))
    assert request.run_key.startswith(f"landing-{future_day(at).isoformat()}-")


def files_at(*days: date) -> list[LandingFile]:
    return [
        LandingFile(version=i, path=landing_path("orders", day, f"b{i}", "jsonl"), size=1)
        for i, day in enumerate(days, start=1)
    ]


WINDOW = PartitionWindow(date(2025, 1, 1), date(2025, 3, 1))


def test_held_files_are_bounded_and_do_not_use_the_tick_budget():
    ahead = [date(2025, 3, 2)] * 3
    files = files_at(*ahead, date(2025, 2, 1), date(2025, 3, 20))
    plan = plan_tick(files, LandingCursor(), WINDOW, limit=10, max_held=2)
    assert [f.path for f in plan.newly_held] == [files[0].path, files[1].path]
    assert [(q.file, "files already wait" in q.reason) for q in plan.quarantine] == [
        (files[2], True),  # more than max_held
        (files[4], False),  # 19 days ahead, more than the 7 a file is held
    ]
    assert "19 days after today" in plan.quarantine[1].reason
    assert plan.load == [files[3]]
    # Next tick, limit 1: the held files cost nothing, the new file is taken.
    newer = LandingFile(
        version=9, path=landing_path("stores", date(2025, 2, 2), "b", "jsonl"), size=1
    )
    again = plan_tick([*files[:2], newer], plan.cursor, WINDOW, limit=1)
    assert (again.load, again.newly_held, again.quarantine) == ([newer], [], [])
    assert again.cursor.held == plan.cursor.held
    # The day comes: both held files load, the cursor does not move back.
    later = PartitionWindow(WINDOW.first, date(2025, 3, 2))
    released = plan_tick([*files[:2], newer], again.cursor, later, limit=10)
    assert released.load == files[:2] and released.released == files[:2]
    assert released.cursor.held == {} and released.cursor.version == newer.version


def test_a_file_still_being_written_stops_the_batch_there():
    files = files_at(date(2025, 2, 1), date(2025, 2, 2), date(2025, 2, 3))
    plan = plan_tick(files, LandingCursor(), WINDOW, limit=10, is_settled=lambda f: f.version < 2)
    assert (plan.load, plan.unsettled) == (files[:1], 2)
    assert plan.cursor.version == 1  # the unsettled files are still new next tick
    assert plan_tick(files, plan.cursor, WINDOW, limit=10).load == files[1:]


def test_hidden_files_are_never_listed_loaded_or_quarantined(sensor, zone):
    partial = f"orders/transaction_date={DAY.isoformat()}/.b1.jsonl.partial"
    zone.write_bytes(partial, b'{"order_id": "O1", ')
    zone.write_bytes(".DS_Store", b"\0")
    assert tick(sensor, zone, None)[0] == []
    assert zone.read_bytes(partial) == b'{"order_id": "O1", '
    assert list(zone.list_landed()) == []


def test_quarantine_and_hold_are_logged_once(sensor, local_zone, capsys):
    at = datetime.now(UTC) + SETTLED
    ahead = drop(local_zone, "orders", future_day(at), "ahead")
    early = drop(local_zone, "orders", date(2024, 6, 1), "early")
    local_zone.write_bytes("orders/notes.txt", b"hello")
    cursor = None
    for _ in range(3):
        _, cursor = tick(sensor, local_zone, cursor, at)
    text = capsys.readouterr().err
    assert text.count(f"held {ahead}") == 1
    assert text.count(f"quarantined {early}") == 1
    assert text.count("quarantined orders/notes.txt") == 1


def test_runs_name_the_days_quarantined_files_and_a_correction_resolves_them(sensor, zone):
    good = drop(zone, "orders", DAY, "good")
    broken = drop(zone, "payments", DAY, "broken", b"{not json\n")
    requests, cursor = tick(sensor, zone, None)
    (request,) = requests
    assert request.tags["retail/quarantined_files"] == "1"
    assert request.tags["retail/quarantined_paths"] == broken
    assert zone.list_quarantined(day=DAY) == [broken]
    assert good not in zone.list_quarantined()

    # The corrected file lands under the same name: the old copy and its report move to
    # quarantine/resolved/, and the run has nothing in quarantine.
    drop(zone, "payments", DAY, "broken")
    (fixed,), _ = tick(sensor, zone, cursor)
    assert "retail/quarantined_files" not in fixed.tags
    assert zone.list_quarantined() == []
    resolved = "quarantine/resolved/" + broken
    assert zone.read_bytes(resolved) == b"{not json\n"
    assert "cannot parse JSON lines" in zone.read_bytes(resolved + ".error.json").decode()


def test_the_quarantine_tag_stays_short():
    from retail_platform.defs.landing.sensors import QUARANTINE_TAG_CHARS, quarantine_tags

    paths = [landing_path("orders", DAY, f"batch-{n:04d}", "jsonl") for n in range(200)]
    tags = quarantine_tags(paths)
    assert tags["retail/quarantined_files"] == "200"
    assert len(tags["retail/quarantined_paths"]) <= QUARANTINE_TAG_CHARS
    assert tags["retail/quarantined_paths"].startswith(paths[0])
    assert tags["retail/quarantined_paths"].endswith("more")
