"""What a source delivers: one file as a ``LandingBatch`` (an Arrow table and where and
when it lands), its batch id, and its bytes (``render``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import pyarrow as pa

from retail_platform.lib.simulator._render import corrupt, malformed_variant, render_table

REDELIVERY_SUFFIX = "-redelivery"


@dataclass(frozen=True, eq=False)
class LandingBatch:
    """One file a source system delivers.

    ``table`` has exactly ``ENTITIES[entity].column_names`` with the Arrow types of
    ``SCHEMAS[entity]``: ids, dates and timestamps are strings as they land, money is
    ``decimal128(18, 2)``, rates ``decimal128(3, 2)``. Every row's ``transaction_date``
    is ``partition_date`` except injected ``partition_mismatch`` bad rows.
    """

    entity: str
    partition_date: date
    batch_id: str
    arrives_on: date
    table: pa.Table
    faults: Mapping[str, int] = field(default_factory=dict)
    malformed: bool = False
    fmt: str = "jsonl"

    @property
    def path(self) -> str:
        """The landing path for this batch's configured format."""
        return self.path_for(self.fmt)

    def path_for(self, fmt: str) -> str:
        # imported here: the landing zone module imports dagster, the simulator does not
        from retail_platform.lib.landing_zone import landing_path

        return landing_path(self.entity, self.partition_date, self.batch_id, fmt)

    @property
    def num_rows(self) -> int:
        return self.table.num_rows

    @property
    def is_late(self) -> bool:
        return self.arrives_on > self.partition_date

    @property
    def is_redelivery(self) -> bool:
        return self.batch_id.endswith(REDELIVERY_SUFFIX)


def main_batch_id(day: date) -> str:
    return f"batch-{day:%Y%m%d}-main"


def late_batch_id(day: date, arrives_on: date) -> str:
    return f"batch-{day:%Y%m%d}-late-{arrives_on:%Y%m%d}"


def render(batch: LandingBatch, fmt: str | None = None) -> bytes:
    """The file's bytes (UTF-8; malformed batches come out unparseable)."""
    fmt = fmt or batch.fmt
    data = render_table(batch.table, fmt)
    if batch.malformed:
        key = f"{batch.entity}/{batch.partition_date.isoformat()}/{batch.batch_id}"
        data = corrupt(data, fmt, malformed_variant(key, fmt), batch.table.num_columns)
    return data
