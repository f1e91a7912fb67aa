"""The one partitions definition every partitioned asset shares: ``transaction_date``.

Where the partitions start, first match wins:

1. ``RETAIL_START_DATE`` (YYYY-MM-DD) in the environment: production sets it, so do tests.
2. The first day of the data in the landing zone, as ``make demo`` recorded it in
   ``$RETAIL_DATA_DIR/demo.json`` (git-ignored, with the rest of ``data/``) for that landing
   zone: after the demo the UI's partitions are the data's days.
3. ``DEFAULT_START_DATE``.

Why a record and not "today minus 120 days" or a listing of the landing zone at code load:
the start must not move under materialized partitions. A start computed from today would
shift every day; a start listed from the landing zone would follow any stray early-dated
file (and the quarantine of files "before the first partition" would never fire), and it
would list a bucket in every process that loads the code (code server, each run worker).
The demo, which decides its window, writes the record once, and only when the data's first
day changes; the code reads one small local file. A record made for another landing zone
(``RETAIL_LANDING`` changed since) is ignored."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import dagster as dg

from retail_platform.lib.targets import data_dir, landing_uri
from retail_platform.settings import DEFAULT_START_DATE, START_DATE_ENV, settings

RECORD_NAME = "demo.json"


def data_start_record() -> Path:
    """Where ``make demo`` records the first day of its data (``data/demo.json``)."""
    return data_dir() / RECORD_NAME


def _same_landing(a: str, b: str) -> bool:
    if a.startswith("gs://") or b.startswith("gs://"):
        return a.rstrip("/") == b.rstrip("/")
    return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()


def recorded_data_start() -> date | None:
    """The first day of the data ``make demo`` recorded for the current landing zone."""
    path = data_start_record()
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text())
        first_day = date.fromisoformat(record["first_day"])
        landing = str(record["landing"])
    except (ValueError, KeyError, TypeError):
        raise ValueError(
            f"{path} is not a record of `make demo` (expected first_day and landing): "
            f"delete it, or set {START_DATE_ENV}"
        ) from None
    return first_day if _same_landing(landing, landing_uri()) else None


def record_data_start(first_day: date, landing: str) -> bool:
    """Record ``first_day`` as the first day of the data in ``landing``; False when the
    record said so already (the file is then left as it is)."""
    path = data_start_record()
    record = {"first_day": first_day.isoformat(), "landing": landing}
    try:
        if json.loads(path.read_text()) == record:
            return False
    except (OSError, ValueError):  # none yet, or not ours: write it
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")
    return True


def resolve_start_date() -> tuple[str, str]:
    """The first partition (YYYY-MM-DD) and where it comes from, in words."""
    value = settings().start_date  # checked: YYYY-MM-DD
    if value is not None:
        return value, START_DATE_ENV
    recorded = recorded_data_start()
    if recorded is not None:
        return recorded.isoformat(), f"the data's first day, recorded in {data_start_record()}"
    return DEFAULT_START_DATE, "the default"


def start_date() -> str:
    """First partition (YYYY-MM-DD): see the module's docstring."""
    return resolve_start_date()[0]


# UTC days; end_offset=1 makes today a partition too, so a file landed today can load today.
transaction_date_partitions = dg.DailyPartitionsDefinition(
    start_date=start_date(), timezone="UTC", end_offset=1
)
