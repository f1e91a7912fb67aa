"""Read a window of landing files for one entity, a day at a time, into Parquet batches.

Shared by the raw assets (which hand the batches to the IO manager) and the landing
sensor (which only validates files before asking for a run): a file either loads
completely or is quarantined with its reason — never half-loaded, never silently skipped.

A window of any length is read one day at a time and each day is written to its own
Parquet file in a staging folder, so memory holds one day, not the window: a year's
backfill is one run that never has the year in memory. The IO managers then load the
files in bulk (``lib/io_managers.py``).

The IO managers replace the whole window: they delete its rows before loading. So before
a raw asset hands over its batches, two guards keep a mistake from deleting warehouse
data: ``unreachable_landing_root`` (a typo in ``RETAIL_LANDING`` reads as "no files for
any day") and ``refused_empty_days`` (a day that staged no rows while the warehouse holds
rows for it is replaced with nothing only when the run says so, ``ALLOW_EMPTY_TAG``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from retail_platform.lib.entities import PARTITION_COLUMN, Entity
from retail_platform.lib.landing_files import (
    EXTRA_COLUMN,
    LINE_COLUMN,
    MalformedFile,
    read_landing_file,
)
from retail_platform.lib.landing_zone import LandingFile, LandingZone
from retail_platform.lib.targets import duckdb_memory_limit

SOURCE_FILE_COLUMN = "_source_file"
INGESTED_AT_COLUMN = "_ingested_at"

#: Run tag that lets a run replace days holding rows with zero rows (a day whose files
#: were withdrawn on purpose). A tag, not asset config: one setting covers every raw
#: asset of the run, it can be set wherever a run or backfill is launched (launchpad,
#: backfill dialog, ``dagster job launch --tags``), and it stays on the run as a record.
ALLOW_EMPTY_TAG = "retail/allow_empty_partitions"


@dataclass(frozen=True)
class ParquetBatches:
    """Rows staged as Parquet files that share one schema: what a raw asset outputs."""

    paths: tuple[Path, ...]
    rows: int
    schema: pa.Schema


@dataclass
class RawWindow:
    batches: ParquetBatches
    files: list[str] = field(default_factory=list)
    quarantined: dict[str, str] = field(default_factory=dict)  # path -> reason
    rows_per_day: dict[date, int] = field(default_factory=dict)  # every day of the window

    @property
    def empty_days(self) -> list[date]:
        return [day for day, rows in self.rows_per_day.items() if rows == 0]


def unreachable_landing_root(zone: LandingZone) -> str | None:
    """Why the zone's root cannot be read, in one line, or None when it can.

    A local zone needs its folder; a GCS zone its bucket (GCS has no folders: an empty
    prefix is a valid zone, and a wrong prefix is caught by ``refused_empty_days``).
    Listing at most one object needs only storage.objects.list, which reading the zone
    needs anyway (bucket metadata would need storage.buckets.get)."""
    root = getattr(zone, "root", None)
    if isinstance(root, str):
        path = Path(root)
        if path.is_dir():
            return None
        what = "is not a folder" if path.exists() else "does not exist"
        return (
            f"Landing zone {path.resolve()} {what} (RETAIL_LANDING={root!r}): nothing was "
            "read or written. Point RETAIL_LANDING at the landing folder and re-run."
        )
    bucket_of = getattr(zone, "_bucket", None)
    if bucket_of is None:
        return None  # another kind of zone: its own reads fail if it is unreachable
    from google.api_core import exceptions

    bucket = bucket_of()
    try:
        next(iter(bucket.client.list_blobs(bucket, max_results=1)), None)
    except exceptions.NotFound:
        problem = "does not exist"
    except exceptions.Forbidden as error:
        problem = f"cannot be listed with these credentials ({error.message})"
    else:
        return None
    return (
        f"Landing bucket gs://{bucket.name} {problem} (landing zone {zone.uri()}): nothing "
        "was read or written. Fix RETAIL_LANDING / RETAIL_LANDING_BUCKET and re-run."
    )


def refused_empty_days(
    window: RawWindow, warehouse_rows: Callable[[list[date]], dict[date, int]]
) -> dict[date, int]:
    """Days of the window that staged no rows although the warehouse holds rows for them
    (day -> rows held): loading the window would replace those rows with nothing.
    ``warehouse_rows`` is asked only when some day staged no rows."""
    empty = window.empty_days
    if not empty:
        return {}
    held = warehouse_rows(empty)
    return {day: held[day] for day in empty if held.get(day, 0) > 0}


def refusal_message(table: str, zone_uri: str, entity: str, held: dict[date, int]) -> str:
    """One line: which days, how many rows each would lose, how to allow it."""
    listed = [f"{day.isoformat()} ({rows} rows)" for day, rows in sorted(held.items())]
    if len(listed) > 10:
        listed = [*listed[:10], f"and {len(listed) - 10} more days"]
    return (
        f"Refusing to replace {len(held)} day(s) of {table} that hold rows with zero rows: "
        f"{', '.join(listed)}. No {entity} file of those days loaded from {zone_uri} "
        "(missing, or quarantined: see quarantine/). Nothing was written. If the days are "
        f"meant to be empty now, re-run with the run tag {ALLOW_EMPTY_TAG}=true; otherwise "
        "restore the files (or fix the landing zone setting) and re-run."
    )


def allows_empty_partitions(tags: dict[str, str]) -> bool:
    return tags.get(ALLOW_EMPTY_TAG, "").strip().lower() == "true"


def days_in(start: date, end: date) -> Iterable[date]:
    """Days of the end-exclusive window [start, end)."""
    day = start
    while day < end:
        yield day
        day += timedelta(days=1)


def load_file(zone: LandingZone, entity: Entity, file: LandingFile) -> pa.Table:
    """Rows of one landing file; raises MalformedFile with the reason."""
    return read_landing_file(entity, file.path, zone.read_bytes(file.path))


def raw_column_types(entity: Entity) -> dict[str, str]:
    """Raw column -> type: the landed values as text, plus the lineage columns."""
    return {
        **dict.fromkeys([*entity.column_names, EXTRA_COLUMN, SOURCE_FILE_COLUMN], "string"),
        LINE_COLUMN: "integer",
        INGESTED_AT_COLUMN: "datetime",
        PARTITION_COLUMN: "datetime",
    }


_ARROW_TYPES = {"string": pa.string(), "integer": pa.int64(), "datetime": pa.timestamp("us")}


def raw_schema(entity: Entity) -> pa.Schema:
    """The raw table's Arrow schema. ``_partition_date`` is midnight of the folder's date
    as a zone-less timestamp (DATETIME on BigQuery): the IO managers filter partitions with
    ``col >= 'YYYY-mm-dd HH:MM:SS'``, a literal BigQuery cannot compare with a DATE column
    (dagster-io/dagster#13147) but can with a DATETIME one, on the bare partitioning
    column, so partition pruning keeps working."""
    return pa.schema(
        [pa.field(name, _ARROW_TYPES[kind]) for name, kind in raw_column_types(entity).items()]
    )


READ_THREADS = min(4, os.cpu_count() or 1)


@dataclass
class _StagedDay:
    path: Path | None = None
    rows: int = 0
    files: list[str] = field(default_factory=list)
    quarantined: dict[str, str] = field(default_factory=dict)


def stage_raw_window(
    zone: LandingZone,
    entity: Entity,
    start: date,
    end: date,
    staging: Path,
    log: Callable[[str], None] = lambda _: None,
    threads: int = READ_THREADS,
) -> RawWindow:
    """Every landing file of ``entity`` for the days [start, end), with lineage columns,
    one Parquet file per day with rows under ``staging``.

    Malformed files are moved to quarantine (with a report beside them) and left out;
    every other file of the window still loads. ``threads`` days are read at once (DuckDB
    parses and pyarrow writes outside the GIL), so memory holds that many days.
    """
    ingested_at = datetime.now(UTC).replace(tzinfo=None)
    schema = raw_schema(entity)

    def stage(day: date) -> _StagedDay:
        return _stage_day(zone, entity, day, schema, staging, ingested_at, log)

    days = list(days_in(start, end))
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        staged = list(pool.map(stage, days))  # in day order
    window = RawWindow(
        batches=ParquetBatches(
            paths=tuple(day.path for day in staged if day.path is not None),
            rows=sum(day.rows for day in staged),
            schema=schema,
        ),
        rows_per_day={day: one.rows for day, one in zip(days, staged, strict=True)},
    )
    for day in staged:
        window.files.extend(day.files)
        window.quarantined.update(day.quarantined)
    return window


def _stage_day(
    zone: LandingZone,
    entity: Entity,
    day: date,
    schema: pa.Schema,
    staging: Path,
    ingested_at: datetime,
    log: Callable[[str], None],
) -> _StagedDay:
    staged, tables = _StagedDay(), []
    for file in sorted(zone.list_files(entity.name, day), key=lambda f: f.path):
        try:
            table = load_file(zone, entity, file)
        except MalformedFile as error:
            if not zone.is_settled(file):
                # Maybe cut short by a writer still at work, not broken: left where it is;
                # when it is complete, its new version makes the sensor run the day again.
                log(f"skipped {file.path}: it does not parse and is still being written")
                continue
            reason = str(error)
            where = zone.quarantine_file(file.path, reason)
            staged.quarantined[file.path] = reason
            log(f"quarantined {file.path} -> {where}: {reason}")
            continue
        tables.append(_with_lineage(table, schema, file.path, ingested_at, day))
        staged.files.append(file.path)
    day_table = pa.concat_tables(tables) if tables else None
    if day_table is not None and day_table.num_rows:
        staged.path = staging / f"{entity.name}-{day.isoformat()}.parquet"
        pq.write_table(day_table, staged.path, compression="zstd")
        staged.rows = day_table.num_rows
    return staged


def _with_lineage(
    table: pa.Table, schema: pa.Schema, path: str, ingested_at: datetime, day: date
) -> pa.Table:
    rows = table.num_rows
    midnight = datetime(day.year, day.month, day.day)
    lineage = {
        SOURCE_FILE_COLUMN: pa.repeat(pa.scalar(path, pa.string()), rows),
        INGESTED_AT_COLUMN: pa.repeat(pa.scalar(ingested_at, pa.timestamp("us")), rows),
        PARTITION_COLUMN: pa.repeat(pa.scalar(midnight, pa.timestamp("us")), rows),
    }
    columns = [lineage[f.name] if f.name in lineage else table.column(f.name) for f in schema]
    return pa.Table.from_arrays(columns, schema=schema)


def duplicate_counts(entity: Entity, batches: ParquetBatches) -> dict[str, int]:
    """Exact duplicate rows (same content, whatever the day) and extra rows per natural key
    within each partition date, counted by DuckDB over the staged files.

    Exact duplicates share their natural key, so only the rows of keys that landed more
    than once are compared column by column (at a year of order lines, 10 s -> 6.5 s)."""
    if not batches.paths:
        return {"exact_duplicate_rows": 0, "duplicate_key_rows": 0}
    # Identifiers come from the contract (entities.py), never from file content.
    keys = [f'"{c}"' for c in entity.natural_key if c != "transaction_date"]
    key_list = ", ".join(keys)
    content = ", ".join(f'landed."{c}"' for c in entity.column_names)
    same_key = " AND ".join(f"landed.{k} IS NOT DISTINCT FROM repeated.{k}" for k in keys)
    with duckdb.connect(config={"memory_limit": duckdb_memory_limit()}) as connection:
        exact, by_key = connection.execute(
            f"""WITH per_day AS (
                    SELECT {key_list}, "{PARTITION_COLUMN}", count(*) AS n
                    FROM read_parquet($paths) GROUP BY ALL),
                repeated AS (
                    SELECT {key_list} FROM per_day GROUP BY ALL HAVING sum(n) > 1)
                SELECT (SELECT count(*) - count(DISTINCT ({content}))
                        FROM read_parquet($paths) AS landed JOIN repeated ON {same_key}),
                       (SELECT sum(n) - count(*) FROM per_day)""",
            {"paths": [str(p) for p in batches.paths]},
        ).fetchone()
    return {"exact_duplicate_rows": int(exact), "duplicate_key_rows": int(by_key)}
