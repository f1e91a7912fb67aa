"""Faults of the raw layer's writes: each a fault real machines or people produce, and
its defined outcome. Rows are checked against ``landed.py``'s count of the landing files.

- a landing root that does not exist (a typo in RETAIL_LANDING) fails the run before
  anything is read or deleted;
- a day whose files vanished is not replaced with nothing unless the run says so;
- days loaded one by one in reverse order on an empty warehouse equal a one-run load;
- a DuckDB file locked by another process retries the step until the lock is released,
  naming the process; a read-only warehouse fails at once;
- a disk that fills while the window is loaded leaves the warehouse as it was, and the
  re-run loads every row once.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from retail_platform.lib.entities import ENTITIES
from retail_platform.lib.raw_batches import ALLOW_EMPTY_TAG
from retail_platform.lib.simulator import FaultConfig, SimulationConfig, simulate
from retail_platform.settings import LOCK_RETRIES_ENV, LOCK_WAIT_ENV
from retail_platform_tests.conftest import WEEK_START
from retail_platform_tests.helpers.landed import landed_rows
from retail_platform_tests.helpers.local_platform import (
    ALL_ASSETS,
    RANGE_END,
    RANGE_START,
    LocalPlatform,
    days,
)

pytestmark = pytest.mark.faults

LAYERS = ("retail_raw", "retail_silver", "retail_gold", "retail_marts")
TINY = SimulationConfig(seed=3, orders_per_day=30, faults=FaultConfig(bad_rows=0.0))
FIRST = date(2025, 1, 1)
RAW_ORDERS = [dg.AssetKey(["raw", "orders"])]
RAW_ALL = dg.AssetSelection.groups("raw")


def tiny(folder: Path, day_count: int = 3) -> LocalPlatform:
    """A landing zone of ``day_count`` tiny days and an empty warehouse."""
    platform = LocalPlatform(landing_root=folder / "landing", database=folder / "warehouse.duckdb")
    simulate(platform.landing, TINY, start=FIRST, days=day_count)
    return platform


def raw_rows_by_day(platform: LocalPlatform, entity: str) -> dict[str, int]:
    rows = platform.query(
        f"SELECT strftime(_partition_date, '%Y-%m-%d'), count(*) FROM retail_raw.{entity} "
        "GROUP BY 1"
    )
    return dict(rows)


def run_raw(
    platform: LocalPlatform,
    first: date,
    last: date | None = None,
    selection=RAW_ORDERS,
    tags: dict | None = None,
    **kwargs,
) -> dg.ExecuteInProcessResult:
    """Raw assets only (no dbt) for the days [first, last] as one run, with extra tags."""
    last = last or first
    return dg.materialize(
        ALL_ASSETS,
        selection=selection,
        resources=platform.resources(),
        tags={RANGE_START: first.isoformat(), RANGE_END: last.isoformat(), **(tags or {})},
        instance=platform.instance,
        **kwargs,
    )


def _chain(error) -> str:
    text = []
    while error is not None:
        text.append(error.message)
        error = error.cause
    return " | ".join(text)


def step_failures(result: dg.ExecuteInProcessResult) -> list[str]:
    """The message of every failed step, causes included."""
    return [_chain(e.step_failure_data.error) for e in result.all_events if e.is_step_failure]


def step_retries(result: dg.ExecuteInProcessResult) -> list[str]:
    """The error of every retry a step asked for, causes included."""
    return [
        _chain(e.event_specific_data.error)
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY
    ]


def warnings_logged(platform: LocalPlatform, result: dg.ExecuteInProcessResult) -> list[str]:
    return [
        entry.user_message
        for entry in platform.instance.all_logs(result.run_id)
        if not entry.is_dagster_event and entry.level == logging.WARNING
    ]


# -- a wrong landing root -----------------------------------------------------------


def test_missing_landing_root_fails_before_anything_is_deleted(week, tmp_path):
    platform = week.copy_to(tmp_path / "copy")
    day = WEEK_START.replace(day=3)
    before = platform.snapshot(*LAYERS)
    typo = LocalPlatform(
        landing_root=tmp_path / "landnig", database=platform.database, instance=platform.instance
    )

    result = typo.run(day, raise_on_error=False)

    assert not result.success
    failures = step_failures(result)
    assert len(failures) == 9  # each raw step, one line each; dbt never started
    assert all(f"Landing zone {tmp_path / 'landnig'} does not exist" in f for f in failures)
    assert platform.snapshot(*LAYERS) == before
    landed = landed_rows(platform.landing_root, "orders")[day.isoformat()]
    assert raw_rows_by_day(platform, "orders")[day.isoformat()] == landed > 0


# -- a day whose files vanished ------------------------------------------------------


def test_day_whose_files_vanished_is_refused_unless_the_run_allows_it(week, tmp_path):
    platform = week.copy_to(tmp_path / "copy")
    day = WEEK_START.replace(day=3)
    held = landed_rows(platform.landing_root, "orders")[day.isoformat()]
    shutil.rmtree(platform.landing_root / "orders" / f"transaction_date={day.isoformat()}")
    before = platform.snapshot(*LAYERS)

    refused = platform.run(day, raise_on_error=False)  # the daily pipeline's assets

    assert not refused.success
    [failure] = step_failures(refused)
    assert (
        f"Refusing to replace 1 day(s) of retail_raw.orders that hold rows with zero rows: "
        f"{day.isoformat()} ({held} rows)" in failure
    )
    assert f"{ALLOW_EMPTY_TAG}=true" in failure
    assert platform.snapshot(*LAYERS) == before  # other raw tables reloaded as they were

    allowed = run_raw(platform, day, tags={ALLOW_EMPTY_TAG: "true"})

    assert allowed.success
    landed = landed_rows(platform.landing_root, "orders")
    assert day.isoformat() not in landed
    assert raw_rows_by_day(platform, "orders") == dict(landed)


# -- reverse order on an empty warehouse ----------------------------------------------


@pytest.fixture(scope="module")
def reverse_and_once(tmp_path_factory) -> tuple[LocalPlatform, LocalPlatform]:
    """Two tiny days loaded one run per day, last day first, on an empty warehouse (stores
    land on the first day only, so the first run has no stores file), and as one run."""
    root = tmp_path_factory.mktemp("reverse")
    one_by_one = tiny(root / "reverse", day_count=2)
    window = days(FIRST, 2)
    assert not landed_rows(one_by_one.landing_root, "stores").get(window[-1].isoformat())
    for day in reversed(window):
        # failed: "Table with name stores does not exist!"
        one_by_one.run_out_of_order(day)
    at_once = LocalPlatform(one_by_one.landing_root, root / "at-once" / "warehouse.duckdb")
    at_once.database.parent.mkdir()
    assert at_once.run(window[0], window[-1]).success
    return one_by_one, at_once


def test_days_loaded_in_reverse_order_give_the_raw_layer_of_a_one_run_load(reverse_and_once):
    one_by_one, at_once = reverse_and_once

    assert one_by_one.tables("retail_raw") == [f"retail_raw.{e}" for e in sorted(ENTITIES)]
    assert one_by_one.snapshot("retail_raw") == at_once.snapshot("retail_raw")
    for entity in ENTITIES:
        assert raw_rows_by_day(one_by_one, entity) == dict(
            landed_rows(one_by_one.landing_root, entity)
        ), entity


def test_days_loaded_in_reverse_order_give_the_layers_of_a_one_run_load(reverse_and_once):
    """The later day's facts, rejected as unknown_<dimension> while its dimensions had not
    landed, become valid when the earlier day's run loads them (rebuild_days.py)."""
    one_by_one, at_once = reverse_and_once
    assert one_by_one.snapshot(*LAYERS[1:]) == at_once.snapshot(*LAYERS[1:])


# -- a lock held by another process ---------------------------------------------------


@contextmanager
def lock_holder(database: Path, seconds: float) -> Iterator[subprocess.Popen]:
    """Another process with the DuckDB file open read-only for ``seconds``."""
    code = (
        "import duckdb, sys, time\n"
        f"c = duckdb.connect({str(database)!r}, read_only=True)\n"
        "print('holding', flush=True)\n"
        f"time.sleep({seconds})\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        yield holder
    finally:
        holder.kill()
        holder.wait()


def test_locked_warehouse_is_retried_until_the_lock_is_released(tmp_path, monkeypatch):
    platform = tiny(tmp_path, day_count=2)
    assert run_raw(platform, FIRST).success
    monkeypatch.setenv(LOCK_WAIT_ENV, "1")
    monkeypatch.setenv(LOCK_RETRIES_ENV, "20")

    with lock_holder(platform.database, seconds=3) as holder:
        started = time.monotonic()
        result = run_raw(platform, days(FIRST, 2)[1])
    elapsed = time.monotonic() - started

    assert result.success
    retries = step_retries(result)
    assert retries and all(f"is locked by process {holder.pid} (" in r for r in retries)
    warnings = [w for w in warnings_logged(platform, result) if "is locked by" in w]
    assert len(warnings) == len(retries)
    assert f"Close that connection or stop PID {holder.pid}." in warnings[0]
    assert "Retry 1 of 20 in 1 s." in warnings[0]
    assert 2 <= elapsed < 60
    assert raw_rows_by_day(platform, "orders") == dict(landed_rows(platform.landing_root, "orders"))


def test_lock_still_held_after_the_retries_fails_naming_the_process(tmp_path, monkeypatch):
    platform = tiny(tmp_path, day_count=2)
    assert run_raw(platform, FIRST).success
    before = platform.snapshot("retail_raw")
    monkeypatch.setenv(LOCK_WAIT_ENV, "0.2")
    monkeypatch.setenv(LOCK_RETRIES_ENV, "2")

    with lock_holder(platform.database, seconds=120) as holder:
        result = run_raw(platform, days(FIRST, 2)[1], raise_on_error=False)

    assert not result.success
    [failure] = step_failures(result)
    assert "Exceeded max_retries of 2" in failure
    assert f"is locked by process {holder.pid}" in failure
    assert platform.snapshot("retail_raw") == before


# -- a read-only warehouse ------------------------------------------------------------


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@contextmanager
def small_filesystem(folder: Path, size: str = "8m") -> Iterator[Path]:
    """A tmpfs of ``size`` at ``folder`` (needs CAP_SYS_ADMIN: root in a container)."""
    folder.mkdir(parents=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a filesystem needs root")
    if not _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)):
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@contextmanager
def read_only_warehouse(platform: LocalPlatform, folder: Path) -> Iterator[LocalPlatform]:
    """``platform``'s warehouse copied to a read-only place: a read-only filesystem
    (root: permissions do not stop root) or a read-only folder (anyone else)."""
    if os.geteuid() != 0:
        folder.mkdir(parents=True)
        database = folder / "warehouse.duckdb"
        shutil.copyfile(platform.database, database)
        database.chmod(0o444)
        folder.chmod(0o555)
        try:
            yield LocalPlatform(platform.landing_root, database, platform.instance)
        finally:
            folder.chmod(0o755)
        return
    with small_filesystem(folder) as mounted:
        shutil.copyfile(platform.database, mounted / "warehouse.duckdb")
        if not _mount("-o", "remount,ro", str(mounted)):
            pytest.skip("cannot remount read-only here")
        yield LocalPlatform(platform.landing_root, mounted / "warehouse.duckdb", platform.instance)


def test_read_only_warehouse_fails_fast(tmp_path):
    platform = tiny(tmp_path, day_count=2)
    assert run_raw(platform, FIRST, selection=RAW_ALL).success
    before = platform.snapshot("retail_raw")

    with read_only_warehouse(platform, tmp_path / "read-only") as read_only:
        started = time.monotonic()
        result = run_raw(read_only, days(FIRST, 2)[1], selection=RAW_ALL, raise_on_error=False)
        elapsed = time.monotonic() - started
        after = read_only.snapshot("retail_raw")

    assert not result.success
    assert not step_retries(result)
    failures = step_failures(result)
    assert len(failures) == 9
    assert all("Read-only file system" in f or "Permission denied" in f for f in failures)
    assert elapsed < 60  # was ~15 minutes: dagster-duckdb retried every IOException
    assert after == before


# -- a full disk ----------------------------------------------------------------------


def fill(folder: Path, leave: int) -> Path:
    """A file that leaves ``leave`` bytes free on ``folder``'s filesystem."""
    stat = os.statvfs(folder)
    filler = folder / "filler"
    with open(filler, "wb") as file:
        file.write(b"\0" * (stat.f_bavail * stat.f_frsize - leave))
    return filler


def test_disk_full_while_loading_leaves_the_warehouse_as_it_was(tmp_path):
    platform = tiny(tmp_path / "work", day_count=2)
    first, last = days(FIRST, 2)
    assert run_raw(platform, first, last, selection=RAW_ALL).success

    with small_filesystem(tmp_path / "disk", size="16m") as disk:
        full = LocalPlatform(platform.landing_root, disk / "warehouse.duckdb", platform.instance)
        shutil.copyfile(platform.database, full.database)
        before = full.snapshot("retail_raw")
        filler = fill(disk, leave=64 * 1024)  # small raw tables fit, the larger ones do not

        # Re-load the loaded window: each table's delete and load are one transaction.
        failed = run_raw(full, first, last, selection=RAW_ALL, raise_on_error=False)

        assert not failed.success
        failures = step_failures(failed)
        assert failures and all("No space left on device" in f for f in failures)
        assert full.snapshot("retail_raw") == before  # nothing lost, nothing half-written

        filler.unlink()
        assert run_raw(full, first, last, selection=RAW_ALL).success
        for entity in ENTITIES:
            assert raw_rows_by_day(full, entity) == dict(landed_rows(full.landing_root, entity)), (
                entity
            )
