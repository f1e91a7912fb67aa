"""Faults at the landing zone's edge: files dated outside the partitions, files at paths
off the contract, files still being written. Each has a defined outcome, and no such
file stops the others of the same tick or is lost.

The sensor is evaluated with build_sensor_context at a frozen time (Dagster's clock, the
one the sensor reads for its partitions and for settling), never a full pipeline run.
"""

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.test_utils import freeze_time

from retail_platform.defs.jobs import daily_pipeline
from retail_platform.defs.landing.cursor import LandingCursor
from retail_platform.defs.landing.sensors import build_landing_sensor
from retail_platform.lib.entities import entity
from retail_platform.lib.landing_zone import CONTRACT_PATH, landing_path
from retail_platform.lib.partitions import transaction_date_partitions
from retail_platform.lib.raw_batches import load_file
from retail_platform_tests.helpers.handmade import jsonl, row

pytestmark = pytest.mark.faults

DAY = date(2025, 1, 3)
SETTLED = timedelta(minutes=1)  # longer than LocalLandingZone.settle_seconds


@pytest.fixture
def sensor():
    return build_landing_sensor(daily_pipeline, max_files_per_tick=50)


def tick(sensor, zone, cursor: str | None, at: datetime):
    with freeze_time(at):
        context = dg.build_sensor_context(cursor=cursor, resources={"landing_zone": zone})
        result = sensor(context)
    requests = (result.run_requests if isinstance(result, dg.SensorResult) else None) or []
    with dg.partition_loading_context(effective_dt=at):  # never a partition that is not there
        assert all(transaction_date_partitions.has_partition_key(r.partition_key) for r in requests)
    return requests, context.cursor


def drop(zone, entity_name: str, day: date, batch: str) -> str:
    path = landing_path(entity_name, day, batch, "jsonl")
    zone.write_bytes(path, jsonl([row(entity_name, day)]))
    return path


def report(zone, path: str) -> str:
    """The quarantine report's reason and what to do."""
    data = json.loads(zone.read_bytes(f"quarantine/{path}.error.json"))
    assert data["file"] == path
    return f"{data['reason']}\n{data['what_to_do']}"


def quarantined(zone) -> set[str]:
    """Paths that are in quarantine/, by their original path."""
    if hasattr(zone, "root"):
        folder = Path(zone.root, "quarantine")
        found = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    else:
        bucket = zone._bucket()
        prefix = zone._root() + "quarantine/"
        found = {b.name[len(prefix) :] for b in bucket.client.list_blobs(bucket, prefix=prefix)}
    return {p for p in found if not p.endswith(".error.json")}


def before_midnight_utc() -> datetime:
    """23:30 UTC on a day the test's files are settled by: a source in UTC+1 or more has
    already started tomorrow and writes tomorrow's folder."""
    settled = datetime.now(UTC) + SETTLED
    at = datetime.combine(settled.date(), time(23, 30), UTC)
    return at if at >= settled else at + timedelta(days=1)


def test_files_dated_outside_the_partitions_never_stop_the_others_and_none_is_lost(sensor, zone):
    at = before_midnight_utc()
    tomorrow = at.date() + timedelta(days=1)
    good = drop(zone, "orders", DAY, "good")
    early = drop(zone, "orders", date(2024, 12, 31), "before-start")
    ahead = [drop(zone, "orders", tomorrow, "utc-plus-2"), drop(zone, "customers", tomorrow, "b")]

    # One tick: the good file runs, the early one is quarantined, tomorrow's wait.
    requests, cursor = tick(sensor, zone, None, at)
    assert [r.partition_key for r in requests] == [DAY.isoformat()]
    assert quarantined(zone) == {early}
    why = report(zone, early)
    assert "before the first partition, 2025-01-01 (RETAIL_START_DATE)" in why
    assert "set RETAIL_START_DATE to 2024-12-31 or earlier" in why  # what to do
    assert set(LandingCursor.parse(cursor).held) == set(ahead)

    # Still before midnight: nothing is asked for, nothing moves, no partition is named.
    assert tick(sensor, zone, cursor, at + timedelta(minutes=20)) == ([], cursor)

    # Just past midnight UTC the partition exists: both files load, in one run.
    (request,), cursor = tick(sensor, zone, cursor, at + timedelta(minutes=31))
    assert request.partition_key == tomorrow.isoformat()
    assert set(request.asset_selection) == {
        dg.AssetKey(["raw", "orders"]),
        dg.AssetKey(["raw", "customers"]),
    }
    assert request.tags["retail/files"] == "2"
    assert LandingCursor.parse(cursor).held == {}
    assert tick(sensor, zone, cursor, at + timedelta(minutes=32))[0] == []

    # No file lost: every file is in the zone (and was run) or in quarantine.
    assert sorted(f.path for f in zone.list_files()) == sorted([good, *ahead])
    assert quarantined(zone) == {early}


STRAYS = {
    "orders/2025-01-03/x.jsonl": "'2025-01-03' is not transaction_date=YYYY-MM-DD",
    "Orders/transaction_date=2025-01-03/x.jsonl": "(entity folders are lower case)",
    "nope/transaction_date=2025-01-03/x.jsonl": "'nope' is not an entity",
    "orders/transaction_date=2025-01-03/nested/x.jsonl": "it is 4 level(s) deep",
    "orders/x.jsonl": "it is 2 level(s) deep",
    "export.jsonl": "it is 1 level(s) deep",
    "orders/transaction_date=2025-02-30/x.jsonl": "impossible date '2025-02-30'",
    "orders/transaction_date=2025-01-03/with space.jsonl": "batch id 'with space'",
    "orders/transaction_date=2025-01-03/café.jsonl": "batch id 'café'",
    "orders/transaction_date=2025-01-03/o'brien.jsonl": 'batch id "o\'brien"',
    "orders/transaction_date=2025-01-03/x.txt": "'.txt' is not a landing file type",
    "orders/transaction_date=2025-01-03/x.parquet": "'.parquet' is not a landing file type",
    "orders/transaction_date=2025-01-03/x.JSONL": "'.JSONL' is not a landing file type",
    "orders/transaction_date=2025-01-03/x": "has no extension: use .jsonl or .csv",
}


def test_every_kind_of_stray_path_is_quarantined_with_what_is_wrong_and_what_to_do(sensor, zone):
    for path in STRAYS:
        zone.write_bytes(path, jsonl([row("orders", DAY)]))
    good = drop(zone, "orders", DAY, "good")

    requests, cursor = tick(sensor, zone, None, datetime.now(UTC) + SETTLED)
    assert [r.partition_key for r in requests] == [DAY.isoformat()]
    assert requests[0].tags["retail/files"] == "1"
    assert quarantined(zone) == set(STRAYS)
    for path, says in STRAYS.items():
        why = report(zone, path)
        assert says in why, (path, why)
        assert CONTRACT_PATH in why  # what the contract expects ...
        assert "Move or re-export the file to a contract path" in why  # ... and what to do
    assert [f.path for f in zone.list_files()] == [good]
    assert tick(sensor, zone, cursor, datetime.now(UTC) + SETTLED)[0] == []


def version_time(zone, path: str) -> datetime:
    (file,) = [f for f in zone.list_landed() if f.path == path]
    return datetime.fromtimestamp(file.version / 1e9, UTC)


def test_a_file_written_in_place_is_taken_only_once_settled_and_then_whole(sensor, local_zone):
    rows = [row("orders", DAY, order_id=f"O{i}") for i in range(3)]
    content = jsonl(rows)
    path = landing_path("orders", DAY, "slow-writer", "jsonl")
    target = Path(local_zone.root, path)
    target.parent.mkdir(parents=True)
    with open(target, "wb") as writer:
        writer.write(content[:40])  # half a line: what a reader would see mid-write
        writer.flush()
        first = version_time(local_zone, path)
        requests, cursor = tick(sensor, local_zone, None, first + timedelta(seconds=2))
        assert requests == [] and target.exists()  # not taken, not quarantined
        writer.write(content[40:])
    done = version_time(local_zone, path)
    # Changed since: its settle time starts again from the last write.
    requests, cursor = tick(sensor, local_zone, cursor, done + timedelta(seconds=5))
    assert requests == [] and quarantined(local_zone) == set()
    (request,), cursor = tick(sensor, local_zone, cursor, done + timedelta(seconds=11))
    assert request.partition_key == DAY.isoformat()
    assert quarantined(local_zone) == set()
    (file,) = local_zone.list_files()
    assert load_file(local_zone, entity("orders"), file).num_rows == 3  # whole
    assert tick(sensor, local_zone, cursor, done + timedelta(seconds=60))[0] == []


def test_a_file_written_then_renamed_is_never_quarantined_while_hidden(sensor, local_zone):
    path = landing_path("orders", DAY, "renamed", "jsonl")
    partial = Path(local_zone.root, f"orders/transaction_date={DAY.isoformat()}/.renamed.jsonl")
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b'{"order_id": "O1", "cus')  # a writer's in-progress file
    far = datetime.now(UTC) + timedelta(days=1)
    requests, cursor = tick(sensor, local_zone, None, far)
    assert requests == [] and partial.exists() and quarantined(local_zone) == set()
    partial.write_bytes(jsonl([row("orders", DAY)]))
    partial.rename(Path(local_zone.root, path))
    (request,), _ = tick(sensor, local_zone, cursor, datetime.now(UTC) + SETTLED)
    assert request.partition_key == DAY.isoformat()


def test_on_gcs_an_object_is_taken_on_the_next_tick(sensor, gcs_zone):
    """An object is visible only once its upload finished: nothing to wait for."""
    drop(gcs_zone, "orders", DAY, "b1")
    (request,), _ = tick(sensor, gcs_zone, None, datetime.now(UTC))
    assert request.partition_key == DAY.isoformat()
