"""Many days into a landing zone: ``simulate`` renders each day and writes every file in
arrival order on a background thread, optionally with worker processes rendering days."""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
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
    workers: int = 0  # worker processes used
    paths: list[str] = field(default_factory=list)  # in the order they were written

    @property
    def rows(self) -> int:
        return sum(self.rows_per_entity.values())

    def __str__(self) -> str:
        end = self.start + timedelta(days=max(self.days - 1, 0))
        lines = [
            f"simulated {self.start}..{end} ({self.days} days) as {self.fmt}: "
            f"{self.files_written} files, {self.bytes_written / 1e6:.1f} MB, "
            f"{self.rows} rows in {self.seconds:.1f}s ({self.workers} worker processes)",
            f"  orders {self.orders}, order lines {self.order_lines}",
            "  rows: " + ", ".join(f"{k}={v}" for k, v in sorted(self.rows_per_entity.items())),
        ]
        if self.fault_counts:
            lines.append(
                "  faults: " + ", ".join(f"{k}={v}" for k, v in sorted(self.fault_counts.items()))
            )
        return "\n".join(lines)


@dataclass(frozen=True)
class RenderedBatch:
    """A batch after rendering: what the writer needs, without the table."""

    entity: str
    partition_date: date
    batch_id: str
    arrives_on: date
    num_rows: int
    faults: Mapping[str, int]
    late: bool
    redelivery: bool
    data: bytes


def render_day(config: SimulationConfig, day: date) -> list[RenderedBatch]:
    """``simulate_day`` + ``render``; what a worker process does for a day."""
    return [
        RenderedBatch(
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


# ----------------------------------------------------------------------------- rendering days


def _auto_workers(config: SimulationConfig, days: int) -> int:
    """How many worker processes to use when the caller does not say.

    Workers pay their start-up and every file crosses a pipe, so they only pay off for
    long, big runs with idle cores: with the machine busy (1-minute load average close to
    the core count) generating in-process is faster. The files are identical either way."""
    if days < 30 or days * config.orders_per_day < 1_000_000:
        return 0
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # pragma: no cover - not on POSIX
        load = 0.0
    idle = (os.cpu_count() or 1) - load
    return max(0, min(3, int(idle) - 1))


def _renders_here(i: int, workers: int) -> bool:
    """Whether the calling process renders the i-th day itself: one day in ``workers + 2``
    (it also writes every file); the workers render the others."""
    return i % (workers + 2) == workers + 1


def _rendered_days(
    config: SimulationConfig, start: date, days: int, workers: int
) -> Iterator[tuple[date, list[RenderedBatch]]]:
    """(day, rendered batches) in day order, rendered here and by ``workers`` processes."""
    dates = [start + timedelta(days=i) for i in range(days)]
    if workers <= 0:
        for day in dates:
            yield day, render_day(config, day)
        return
    # spawn: a fresh interpreter per worker, never a fork of a possibly threaded caller
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    in_flight: dict[int, Future[list[RenderedBatch]]] = {}
    next_to_submit = 0
    try:
        for i, day in enumerate(dates):
            while next_to_submit < days and len(in_flight) < 2 * workers:
                if not _renders_here(next_to_submit, workers):
                    future = pool.submit(render_day, config, dates[next_to_submit])
                    in_flight[next_to_submit] = future
                next_to_submit += 1
            if _renders_here(i, workers):
                yield day, render_day(config, day)
            else:
                yield day, in_flight.pop(i).result()
    finally:
        # on an error, do not wait for days nobody will read
        pool.shutdown(wait=not in_flight, cancel_futures=True)


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
        self._waiting: dict[date, list[RenderedBatch]] = defaultdict(list)
        self._rows: dict[str, int] = defaultdict(int)
        self._faults: dict[str, int] = defaultdict(int)

    def add_day(self, day: date, batches: list[RenderedBatch]) -> None:
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

    def _write(self, batch: RenderedBatch) -> None:
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
    workers: int | None = None,
) -> SimulationSummary:
    """Generate ``days`` days from ``start`` and write every batch through
    ``zone.write_bytes`` in arrival order: each day's on-time batches, then the late
    batches (of earlier days of the range) arriving that day; batches arriving after
    the last day are written at the end, by arrival day. Writes happen on one
    background thread, in that order; ``simulate`` returns once all are done.

    ``workers``: extra processes that generate and render days in parallel with the
    calling process (which also renders one day in ``workers + 2`` and does all the
    writing). ``None`` decides from the run's size and the idle cores (0 for small
    runs or a busy machine). The files are identical whatever the setting.
    """
    from tqdm.auto import tqdm

    started = time.perf_counter()
    summary = SimulationSummary(start=start, days=days, fmt=config.fmt)
    n_workers = _auto_workers(config, days) if workers is None else max(0, workers)
    summary.workers = n_workers
    writer = _OrderedWriter(zone)
    try:
        arrival_order = _ArrivalOrder(writer, summary)
        with tqdm(total=days, disable=not progress, unit="day", desc="simulating") as bar:
            for day, batches in _rendered_days(config, start, days, n_workers):
                arrival_order.add_day(day, batches)
                bar.update(1)
        arrival_order.finish()
    finally:
        writer.close()
    summary.seconds = time.perf_counter() - started
    return summary
