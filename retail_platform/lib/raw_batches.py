"""Read a window of landing files for one entity into one raw frame.

Shared by the raw assets (which write the frame) and the landing sensor (which
only validates files before asking for a run): a file either loads completely or
is quarantined with its reason — never half-loaded, never silently skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pyarrow as pa

from retail_platform.lib.entities import PARTITION_COLUMN, Entity
from retail_platform.lib.landing_files import (
    EXTRA_COLUMN,
    LINE_COLUMN,
    MalformedFile,
    read_landing_file,
)
from retail_platform.lib.landing_zone import LandingFile, LandingZone

SOURCE_FILE_COLUMN = "_source_file"
INGESTED_AT_COLUMN = "_ingested_at"
TEXT = pd.ArrowDtype(pa.string())


@dataclass
class RawBatch:
    frame: pd.DataFrame
    files: list[str] = field(default_factory=list)
    quarantined: dict[str, str] = field(default_factory=dict)  # path -> reason


def days_in(start: date, end: date) -> Iterable[date]:
    """Days of the end-exclusive window [start, end)."""
    day = start
    while day < end:
        yield day
        day += timedelta(days=1)


def load_file(zone: LandingZone, entity: Entity, file: LandingFile) -> pd.DataFrame:
    """Rows of one landing file; raises MalformedFile with the reason."""
    return read_landing_file(entity, file.path, zone.read_bytes(file.path))


def read_raw_window(
    zone: LandingZone,
    entity: Entity,
    start: date,
    end: date,
    log: Callable[[str], None] = lambda _: None,
) -> RawBatch:
    """Every landing file of ``entity`` for the days [start, end), with lineage columns.

    Malformed files are moved to quarantine (with a report beside them) and left
    out; every other file of the window still loads.
    """
    ingested_at = pd.Timestamp(datetime.now(UTC)).floor("us").tz_localize(None)
    frames: list[pd.DataFrame] = []
    batch = RawBatch(frame=pd.DataFrame())
    for day in days_in(start, end):
        for file in sorted(zone.list_files(entity.name, day), key=lambda f: f.path):
            try:
                rows = load_file(zone, entity, file)
            except MalformedFile as error:
                reason = str(error)
                where = zone.quarantine_file(file.path, reason)
                batch.quarantined[file.path] = reason
                log(f"quarantined {file.path} -> {where}: {reason}")
                continue
            rows[SOURCE_FILE_COLUMN] = file.path
            rows[INGESTED_AT_COLUMN] = ingested_at
            rows[PARTITION_COLUMN] = day
            frames.append(rows)
            batch.files.append(file.path)
    batch.frame = _concat(entity, frames)
    return batch


def raw_column_types(entity: Entity) -> dict[str, str]:
    """Raw column -> type: the landed values as text, plus the lineage columns."""
    return {
        **dict.fromkeys([*entity.column_names, EXTRA_COLUMN, SOURCE_FILE_COLUMN], "string"),
        LINE_COLUMN: "integer",
        INGESTED_AT_COLUMN: "datetime",
        PARTITION_COLUMN: "datetime",
    }


def raw_columns(entity: Entity) -> list[str]:
    return list(raw_column_types(entity))


def _concat(entity: Entity, frames: list[pd.DataFrame]) -> pd.DataFrame:
    columns = raw_columns(entity)
    if not frames:
        return pd.DataFrame({name: pd.Series(dtype=TEXT) for name in columns})
    frame = pd.concat(frames, ignore_index=True)[columns]
    # Arrow-backed text stays VARCHAR even when a column is all null in this window.
    text_columns = [*entity.column_names, EXTRA_COLUMN, SOURCE_FILE_COLUMN]
    frame[text_columns] = frame[text_columns].astype(TEXT)
    # Midnight of the folder's date as a zone-less timestamp (DATETIME on BigQuery): the
    # IO managers filter partitions with `col >= 'YYYY-mm-dd HH:MM:SS'`, a literal BigQuery
    # cannot compare with a DATE column (dagster-io/dagster#13147) but can with a DATETIME
    # one, on the bare partitioning column, so partition pruning keeps working.
    frame[PARTITION_COLUMN] = pd.to_datetime(frame[PARTITION_COLUMN]).astype("datetime64[us]")
    frame[INGESTED_AT_COLUMN] = frame[INGESTED_AT_COLUMN].astype("datetime64[us]")
    return frame


def duplicate_counts(entity: Entity, frame: pd.DataFrame) -> dict[str, int]:
    """Exact duplicate rows and extra rows per natural key within each partition date."""
    if frame.empty:
        return {"exact_duplicate_rows": 0, "duplicate_key_rows": 0}
    content = [*entity.column_names]
    keys = [PARTITION_COLUMN, *(k for k in entity.natural_key if k != "transaction_date")]
    exact = int(frame.duplicated(subset=content).sum())
    by_key = int(frame.duplicated(subset=keys).sum())
    return {"exact_duplicate_rows": exact, "duplicate_key_rows": by_key}
