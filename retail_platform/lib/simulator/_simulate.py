"""Many days into a landing zone: ``simulate`` renders each day and writes every file in
arrival order on a background thread.

Days are rendered in the calling process: on the two-core machines the platform targets,
worker processes cost more CPU than they save (docs/performance.md, "The simulator")."""

from __future__ import annotations

import queue
import threading
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

from retail_platform.lib.simulator._batches import render
from retail_platform.lib.simulator._config import SimulationConfig
from retail_platform.lib.simulator._day import simulate_day

if TYPE_CHECKING:  # the landing zone module imports dagster; the simulator does not
    from retail_platform.lib.landing_zone import LandingZone


@dataclass
class SimulationSummary:
    """What ``simulate`` wrote. ``rows_per_entity`` counts rows in the files written
    (duplicates and re-deliveries included); ``orders``/``order_lines`` count the
    distinct orders and order lines generated (main batches, duplicates excluded);
    ``fault_counts`` sums ``LandingBatch.faults`` over the files written; ``paths`` are
    in write (= arrival) order."""

    start: date
    days: int
    fmt: str
    files_written: int = 0
    bytes_written: int = 0
    rows_per_entity: dict[str, int] = field(default_factory=dict)
    orders: int = 0
    order_lines: int = 0
    fault_counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    paths: list[str] = field(default_factory=list)  # in the order they were written

    @property
    def rows(self) -> int:
        return sum(self.rows_per_entity.values())

    def __str__(self) -> str:
        end = self.start + timedelta(days=max(self.days - 1, 0))
        lines = [
            f"simulated {self.start}..{end} ({self.days} days) as {self.fmt}: "
            f"{self.files_written} files, {self.bytes_written / 1e6:.1f} MB, "
            f"{self.rows} rows in {self.seconds:.1f}s",
            f"  orders {self.orders}, order lines {self.order_lines}",
            "  rows: " + ", ".join(f"{k}={v}" for k, v in sorted(self.rows_per_entity.items())),
        ]
        if self.fault_counts:
            lines.append(
                "  faults: " + ", ".join(f"{k}={v}" for k, v in sorted(self.fault_counts.items()))
            )
        return "\n".join(lines)


@dataclass(frozen=True)
class _RenderedBatch:
    """A batch after rendering: what the writer needs, without the table (a late batch
    waits for its arrival day as bytes only)."""

    entity: str
    partition_date: date
    batch_id: str
    arrives_on: date
    num_rows: int
    faults: Mapping[str, int]
    late: bool
    redelivery: bool
    data: bytes


def _render_day(config: SimulationConfig, day: date) -> list[_RenderedBatch]:
    """``simulate_day`` + ``render``: a day's files, ready to write."""
    return [
        _RenderedBatch(
            batch.entity,
            batch.partition_date,
            batch.batch_id,
            batch.arrives_on,
            batch.num_rows,
            dict(batch.faults),
            batch.is_late,
            batch.is_redelivery,
            render(batch, config.fmt),
        )
        for batch in simulate_day(config, day)
    ]


# ----------------------------------------------------------------------------- writing


class _OrderedWriter:
    """Writes files through the zone on one background thread, strictly in the order
    they were handed over. File writes and uploads release the GIL, so they overlap
    with generating the next day."""

    def __init__(self, zone: LandingZone, max_pending: int = 64) -> None:
        self._zone = zone
        self._queue: queue.Queue[tuple[str, bytes] | None] = queue.Queue(max_pending)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="simulator-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._zone.write_bytes(*item)
                except BaseException as exc:  # re-raised on the calling thread
                    self._error = exc

    def write(self, path: str, data: bytes) -> None:
        self._raise()
        self._queue.put((path, data))

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error


class _ArrivalOrder:
    """Hands batches to the writer in arrival order, counting them into the summary: a
    day's on-time batches, then the late batches that arrive that day; ``finish`` writes
    those arriving after the last day, by arrival day."""

    def __init__(self, writer: _OrderedWriter, summary: SimulationSummary) -> None:
        from retail_platform.lib.landing_zone import landing_path

        self._landing_path = landing_path
        self._writer = writer
        self._summary = summary
        self._waiting: dict[date, list[_RenderedBatch]] = defaultdict(list)
        self._rows: dict[str, int] = defaultdict(int)
        self._faults: dict[str, int] = defaultdict(int)

    def add_day(self, day: date, batches: list[_RenderedBatch]) -> None:
        for batch in batches:
            if not (batch.redelivery or batch.late):
                distinct = batch.num_rows - int(batch.faults.get("duplicate_rows", 0))
                if batch.entity == "orders":
                    self._summary.orders += distinct
                elif batch.entity == "order_items":
                    self._summary.order_lines += distinct
        for batch in batches:
            if batch.arrives_on == day:
                self._write(batch)
            else:
                self._waiting[batch.arrives_on].append(batch)
        for batch in self._waiting.pop(day, []):
            self._write(batch)

    def finish(self) -> None:
        for arrival in sorted(self._waiting):
            for batch in self._waiting[arrival]:
                self._write(batch)
        self._waiting.clear()
        self._summary.rows_per_entity = dict(self._rows)
        self._summary.fault_counts = dict(self._faults)

    def _write(self, batch: _RenderedBatch) -> None:
        summary = self._summary
        path = self._landing_path(batch.entity, batch.partition_date, batch.batch_id, summary.fmt)
        self._writer.write(path, batch.data)
        summary.files_written += 1
        summary.bytes_written += len(batch.data)
        summary.paths.append(path)
        self._rows[batch.entity] += batch.num_rows
        for fault, count in batch.faults.items():
            self._faults[fault] += count


def simulate(
    zone: LandingZone,
    config: SimulationConfig,
    start: date,
    days: int,
    progress: bool = False,
) -> SimulationSummary:
    """Generate ``days`` days from ``start`` and write every batch through
    ``zone.write_bytes`` in arrival order: each day's on-time batches, then the late
    batches (of earlier days of the range) arriving that day; batches arriving after
    the last day are written at the end, by arrival day. Writes happen on one
    background thread, in that order, while the next day is generated; ``simulate``
    returns once all are done.
    """
    from tqdm.auto import tqdm

    started = time.perf_counter()
    summary = SimulationSummary(start=start, days=days, fmt=config.fmt)
    writer = _OrderedWriter(zone)
    try:
        arrival_order = _ArrivalOrder(writer, summary)
        with tqdm(total=days, disable=not progress, unit="day", desc="simulating") as bar:
            for i in range(days):
                day = start + timedelta(days=i)
                arrival_order.add_day(day, _render_day(config, day))
                bar.update(1)
        arrival_order.finish()
    finally:
        writer.close()
    summary.seconds = time.perf_counter() - started
    return summary
