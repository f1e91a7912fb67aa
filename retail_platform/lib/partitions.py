"""The one partitions definition every partitioned asset shares: ``transaction_date``."""

from __future__ import annotations

import os
from datetime import date

import dagster as dg

DEFAULT_START_DATE = "2025-01-01"


def start_date() -> str:
    """First partition, from ``RETAIL_START_DATE`` (YYYY-MM-DD), default 2025-01-01."""
    value = os.environ.get("RETAIL_START_DATE", DEFAULT_START_DATE)
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"RETAIL_START_DATE must be YYYY-MM-DD, got {value!r}") from None
    return value


# UTC days; end_offset=1 makes today a partition too, so a file landed today can load today.
transaction_date_partitions = dg.DailyPartitionsDefinition(
    start_date=start_date(), timezone="UTC", end_offset=1
)
