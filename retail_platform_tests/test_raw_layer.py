"""Raw assets materialized for real: landing files -> DuckDB through the IO manager."""

from datetime import date

import dagster as dg
import duckdb
import pytest

from retail_platform.defs.raw.assets import raw_assets
from retail_platform.lib.entities import ENTITIES
from retail_platform.lib.io_managers import DuckDBWarehouseIOManager
from retail_platform.lib.landing_zone import GCSLandingZone, LocalLandingZone, landing_path
from retail_platform.lib.raw_batches import (
    duplicate_counts,
    raw_schema,
    refused_empty_days,
    stage_raw_window,
    unreachable_landing_root,
)
from retail_platform.lib.targets import Target
from retail_platform.lib.warehouse import DuckDBWarehouse
from retail_platform_tests.helpers.handmade import jsonl, row

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
DAYS = [date(2025, 1, 1), date(2025, 1, 2), date(2025, 1, 3)]
LOCAL = Target(name="local", warehouse_kind="duckdb")


def assets_for(*entities: str) -> list[dg.AssetsDefinition]:
    return [a for a in raw_assets(LOCAL) if a.key.path[-1] in entities]


@pytest.fixture
def warehouse(tmp_path) -> str:
    return str(tmp_path / "warehouse.duckdb")


def run(assets, zone, database, partition_key=None, window=None) -> dg.ExecuteInProcessResult:
    tags = {RANGE_START: window[0], RANGE_END: window[1]} if window else None
    return dg.materialize(
        assets,
        resources={
            "io_manager": DuckDBWarehouseIOManager(database=database),
            "landing_zone": zone,
            "warehouse": DuckDBWarehouse(database=database),
        },
        partition_key=partition_key,
        tags=tags,
    )


def query(database: str, sql: str) -> list[tuple]:
    with duckdb.connect(database, read_only=True) as connection:
        return connection.execute(sql).fetchall()


def land_orders(zone, day: date, batch: str, order_ids: list[str]) -> str:
    path = landing_path("orders", day, batch, "jsonl")
    zone.write_bytes(path, jsonl([row("orders", day, order_id=o) for o in order_ids]))
    return path


def test_partition_rows_and_lineage_columns(local_zone, warehouse):
    first = land_orders(local_zone, DAYS[0], "main", ["O1", "O2"])
    second = land_orders(local_zone, DAYS[0], "late", ["O3"])
    land_orders(local_zone, DAYS[1], "main", ["O9"])  # another partition: not loaded

    result = run(assets_for("orders"), local_zone, warehouse, partition_key="2025-01-01")
    assert result.success
    rows = query(
        warehouse,
        "SELECT order_id, _source_file, _source_line, _partition_date::DATE, "
        "_ingested_at IS NOT NULL "
        "FROM retail_raw.orders ORDER BY order_id",
    )
    assert rows == [
        ("O1", first, 1, DAYS[0], True),
        ("O2", first, 2, DAYS[0], True),
        ("O3", second, 1, DAYS[0], True),
    ]
    types = dict(query(warehouse, "SELECT column_name, data_type FROM information_schema.columns "
                                  "WHERE table_name = 'orders'"))  # fmt: skip
    assert types["_partition_date"] == "TIMESTAMP"  # midnight: see raw_batches._concat
    assert types["order_id"] == types["_extra"] == "VARCHAR"


def test_rerunning_a_partition_replaces_it(local_zone, warehouse):
    land_orders(local_zone, DAYS[0], "main", ["O1", "O2"])
    land_orders(local_zone, DAYS[1], "main", ["O5"])
    assets = assets_for("orders")
    run(assets, local_zone, warehouse, window=("2025-01-01", "2025-01-02"))
    run(assets, local_zone, warehouse, partition_key="2025-01-01")
    run(assets, local_zone, warehouse, partition_key="2025-01-01")
    assert query(warehouse, "SELECT order_id FROM retail_raw.orders ORDER BY 1") == [
        ("O1",), ("O2",), ("O5",)
    ]  # fmt: skip

    land_orders(local_zone, DAYS[0], "late", ["O3"])  # a late file for day 1
    run(assets, local_zone, warehouse, partition_key="2025-01-01")
    assert query(warehouse, "SELECT order_id FROM retail_raw.orders ORDER BY 1") == [
        ("O1",), ("O2",), ("O3",), ("O5",)
    ]  # fmt: skip


def test_three_day_backfill_is_a_single_run(local_zone, warehouse):
    for day in DAYS:
        land_orders(local_zone, day, "main", [f"O{day.day}a", f"O{day.day}b"])
    result = run(assets_for("orders"), local_zone, warehouse, window=("2025-01-01", "2025-01-03"))
    assert result.success
    # one run, one materialization per partition
    materialized = [e.partition for e in result.get_asset_materialization_events()]
    assert sorted(materialized) == ["2025-01-01", "2025-01-02", "2025-01-03"]
    assert query(
        warehouse,
        "SELECT _partition_date::DATE, count(*) FROM retail_raw.orders GROUP BY 1 ORDER BY 1",
    ) == [(d, 2) for d in DAYS]


def test_malformed_file_is_quarantined_and_the_rest_of_the_day_loads(local_zone, warehouse):
    land_orders(local_zone, DAYS[0], "main", ["O1"])
    bad = landing_path("orders", DAYS[0], "broken", "jsonl")
    local_zone.write_bytes(bad, b"not json at all\n")
    settled = LocalLandingZone(root=local_zone.root, settle_seconds=0)  # written whole
    result = run(assets_for("orders"), settled, warehouse, partition_key="2025-01-01")
    assert result.success
    assert query(warehouse, "SELECT order_id FROM retail_raw.orders") == [("O1",)]
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert bad in metadata["files_quarantined"].value
    assert local_zone.read_bytes(f"quarantine/{bad}") == b"not json at all\n"


def test_a_file_that_does_not_parse_while_still_being_written_is_left_for_later(
    local_zone, warehouse
):
    """A young file (written less than settle_seconds ago) that does not parse may be cut
    short by its writer: raw skips it without quarantining it; once whole, it loads."""
    land_orders(local_zone, DAYS[0], "main", ["O1"])
    partial = landing_path("orders", DAYS[0], "in-progress", "jsonl")
    whole = jsonl([row("orders", DAYS[0], order_id="O2")])
    local_zone.write_bytes(partial, whole[: len(whole) // 2])
    waiting = LocalLandingZone(root=local_zone.root, settle_seconds=3600)
    assert run(assets_for("orders"), waiting, warehouse, partition_key="2025-01-01").success
    assert query(warehouse, "SELECT order_id FROM retail_raw.orders") == [("O1",)]
    assert [f.path for f in local_zone.list_files()] == sorted([partial, landing_path(
        "orders", DAYS[0], "main", "jsonl")])  # fmt: skip
    local_zone.write_bytes(partial, whole)  # the writer finishes
    assert run(assets_for("orders"), waiting, warehouse, partition_key="2025-01-01").success
    assert query(warehouse, "SELECT order_id FROM retail_raw.orders ORDER BY 1") == [
        ("O1",),
        ("O2",),
    ]


def test_duplicate_check_warns_on_duplicate_keys_and_passes_without(local_zone, warehouse):
    day = DAYS[0]
    dup = row("orders", day, order_id="O1")
    local_zone.write_bytes(landing_path("orders", day, "a", "jsonl"), jsonl([dup, dup]))
    land_orders(local_zone, DAYS[1], "main", ["O1", "O2"])
    assets = assets_for("orders")

    dirty_run = run(assets, local_zone, warehouse, partition_key="2025-01-01")
    dirty = {e.check_name: e for e in dirty_run.get_asset_check_evaluations()}[
        "no_duplicate_natural_keys"
    ]
    assert not dirty.passed
    assert dirty.severity == dg.AssetCheckSeverity.WARN
    assert dirty.metadata["exact_duplicate_rows"].value == 1

    clean_run = run(assets, local_zone, warehouse, partition_key="2025-01-02")
    clean = {e.check_name: e for e in clean_run.get_asset_check_evaluations()}[
        "no_duplicate_natural_keys"
    ]
    assert clean.passed


def test_duplicate_counts_equal_a_count_of_the_landed_rows(local_zone, tmp_path):
    """Exact duplicates across days and files, a key repeated with other values, rows
    without a key: the counts equal those of the landed rows counted in Python."""
    first, second = DAYS[0], DAYS[1]
    line = row("order_items", first, order_id="O1", line_no=1)
    landed = {
        (first, "a"): [line, line, row("order_items", first, order_id="O1", line_no=2)],
        (first, "b"): [row("order_items", first, order_id="O1", line_no=2, quantity=7)],
        # the same row again, a day later (a late redelivery): an exact duplicate only
        (second, "a"): [line, row("order_items", second, order_id="O2", line_no=1)],
        (second, "b"): [row("order_items", second, order_id=None, line_no=None)] * 2
        + [row("order_items", second, order_id=None, line_no=None, quantity=9)],
    }
    for (day, batch), rows in landed.items():
        local_zone.write_bytes(landing_path("order_items", day, batch, "jsonl"), jsonl(rows))
    staging = tmp_path / "staging"
    staging.mkdir()
    window = stage_raw_window(local_zone, ENTITIES["order_items"], first, DAYS[2], staging)

    columns = ENTITIES["order_items"].column_names
    every = [(day, r) for (day, _), rows in landed.items() for r in rows]
    contents = [tuple(str(r[c]) if r[c] is not None else None for c in columns) for _, r in every]
    day_keys = [(day, r["order_id"], r["line_no"]) for day, r in every]
    assert duplicate_counts(ENTITIES["order_items"], window.batches) == {
        "exact_duplicate_rows": len(contents) - len(set(contents)),
        "duplicate_key_rows": len(day_keys) - len(set(day_keys)),
    }


def test_an_empty_window_creates_the_empty_table(local_zone, warehouse):
    """A day without files of an entity on an empty warehouse still creates its raw table
    (dbt reads every raw table), with the contract's columns and types."""
    land_orders(local_zone, DAYS[0], "main", ["O1"])  # the zone exists; no stores files
    assert run(assets_for("stores"), local_zone, warehouse, partition_key="2025-01-01").success
    assert query(warehouse, "SELECT count(*) FROM retail_raw.stores") == [(0,)]
    columns = query(
        warehouse,
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = 'retail_raw' AND table_name = 'stores' ORDER BY ordinal_position",
    )
    assert [c for (c,) in columns] == raw_schema(ENTITIES["stores"]).names


def test_the_warehouse_is_asked_about_empty_days_only(local_zone, tmp_path):
    land_orders(local_zone, DAYS[0], "main", ["O1"])
    asked: list[list[date]] = []

    def held(days: list[date]) -> dict[date, int]:
        asked.append(days)
        return {day: 5 for day in days} | {DAYS[0]: 3}

    staging = tmp_path / "staging"
    staging.mkdir()
    full = stage_raw_window(local_zone, ENTITIES["orders"], DAYS[0], DAYS[1], staging)
    assert refused_empty_days(full, held) == {} and asked == []
    window = stage_raw_window(local_zone, ENTITIES["orders"], DAYS[0], DAYS[2], staging)
    assert refused_empty_days(window, held) == {DAYS[1]: 5}
    assert asked == [[DAYS[1]]]


def test_a_local_landing_root_is_reachable_when_its_folder_exists(tmp_path):
    assert unreachable_landing_root(LocalLandingZone(root=str(tmp_path))) is None
    reason = unreachable_landing_root(LocalLandingZone(root=str(tmp_path / "typo")))
    assert reason.startswith(f"Landing zone {tmp_path / 'typo'} does not exist")
    assert "\n" not in reason


@pytest.mark.gcs
def test_a_gcs_landing_root_is_reachable_when_its_bucket_exists(gcs_zone):
    assert unreachable_landing_root(gcs_zone) is None  # an empty bucket is a valid zone
    missing = GCSLandingZone(bucket="no-such-bucket-42", prefix="landing", project="test-project")
    reason = unreachable_landing_root(missing)
    assert reason.startswith("Landing bucket gs://no-such-bucket-42 does not exist")
