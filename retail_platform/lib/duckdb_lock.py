"""Opening the DuckDB warehouse file: fail fast, except on another process's lock.

DuckDB lets one process write a database file at a time; any other process that has
the file open (a notebook, a BI tool, the DuckDB CLI, even read-only) makes our
read-write open fail with ``IO Error: Could not set lock on file ...: Conflicting lock
is held in <exe> (PID n)``. That clears when the other process lets go, so a step that
hits it asks Dagster to run it again later (``retry_when_locked``), with a message that
names the process. Every other error of opening the file (a read-only filesystem, a
missing folder, a full disk, a corrupt file) is raised at once: dagster-duckdb retries
*every* ``IOException`` ten times with backoff (~100 s per step, ~15 minutes for a run's
raw steps) and retrying cannot fix those.

``connect`` is the one way this code opens the file read-write (IO manager and the
``warehouse`` resource); ``retry_when_locked`` is what a step wraps around its work:

    with retry_when_locked(context):
        ...  # anything that opens the warehouse, directly or through dbt

Retries: ``RETAIL_DUCKDB_LOCK_RETRIES`` attempts after the first (default 6), waiting
``RETAIL_DUCKDB_LOCK_WAIT_SECONDS`` (default 15) doubled per attempt, at most 240 s
between attempts: 15 + 30 + 60 + 120 + 240 + 240 s, about 12 minutes in all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import dagster as dg

from retail_platform.settings import LOCK_RETRIES_ENV, LOCK_WAIT_ENV, settings

MAX_LOCK_WAIT_SECONDS = 240.0

# DuckDB 1.x/2.x: 'Could not set lock on file "<path>": Conflicting lock is held in
# <exe> (PID <n>) [by user <u>]. ...'
_CONFLICT = re.compile(
    r'(?:Could not set lock on file "(?P<path>[^"]*)": )?'
    r"Conflicting lock is held in (?P<exe>.*?) \(PID (?P<pid>\d+)\)"
)


class DuckDBLockConflict(Exception):
    """Another process holds the DuckDB file's lock; retrying later can succeed."""

    def __init__(self, database: str, pid: int | None, executable: str | None, detail: str):
        self.database = database
        self.pid = pid
        self.executable = executable
        self.detail = detail
        holder = f"process {pid} ({executable})" if pid else "another process"
        super().__init__(
            f"The DuckDB warehouse {database} is locked by {holder}: DuckDB lets one "
            "process write the file at a time, and any other process that has it open, "
            "even read-only (a notebook, the DuckDB CLI, a BI tool), blocks it. Close that "
            f"connection{f' or stop PID {pid}' if pid else ''}. Raw and dbt steps wait and "
            f"retry by themselves ({LOCK_RETRIES_ENV}, {LOCK_WAIT_ENV}); if the run failed "
            f"anyway, re-execute it from failure once the lock is gone. DuckDB: {detail}"
        )


def lock_conflict(error: BaseException | None) -> DuckDBLockConflict | None:
    """The lock conflict behind ``error`` (itself, its causes or its message: dbt and
    Dagster wrap the DuckDB error), or None when it is not one."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, DuckDBLockConflict):
            return error
        found = conflict_in_text(str(error))
        if found is not None:
            return found
        error = error.__cause__ or error.__context__
    return None


def conflict_in_text(text: str, database: str | None = None) -> DuckDBLockConflict | None:
    """A lock conflict reported in ``text`` (an exception's message, dbt's log line)."""
    match = _CONFLICT.search(text)
    if match is None:
        return None
    detail = text[match.start() :].splitlines()[0]
    return DuckDBLockConflict(
        database=database or match["path"] or "file",
        pid=int(match["pid"]),
        executable=match["exe"],
        detail=detail,
    )


def connect(database: str, config: Mapping[str, Any] | None = None, read_only: bool = False):
    """``duckdb.connect`` once, no retries: a lock conflict raises
    :class:`DuckDBLockConflict` (for ``retry_when_locked``), anything else as DuckDB says."""
    import duckdb

    try:
        return duckdb.connect(database, read_only=read_only, config=dict(config or {}))
    except duckdb.IOException as error:
        conflict = conflict_in_text(str(error), database)
        if conflict is None:
            raise
        raise conflict from error


def lock_retry_policy(attempt: int) -> tuple[int, float]:
    """(max_retries, seconds to wait before retry number ``attempt + 1``)."""
    current = settings()
    retries, base = current.duckdb_lock_retries, current.duckdb_lock_wait_seconds
    return retries, min(base * 2**attempt, max(base, MAX_LOCK_WAIT_SECONDS))


@contextmanager
def retry_when_locked(
    context: dg.AssetExecutionContext | dg.OpExecutionContext | dg.OutputContext | Any,
) -> Iterator[None]:
    """Run the block; when it fails on the warehouse's lock, ask Dagster to retry the
    step later (``dg.RetryRequested``) and log who holds the lock. Other errors pass."""
    try:
        yield
    except dg.RetryRequested:
        raise
    except Exception as error:
        conflict = lock_conflict(error)
        if conflict is None:
            raise
        attempt = _attempt(context)
        retries, wait = lock_retry_policy(attempt)
        if attempt < retries:
            context.log.warning(f"{conflict} Retry {attempt + 1} of {retries} in {wait:.0f} s.")
        raise dg.RetryRequested(max_retries=retries, seconds_to_wait=wait) from conflict


def _attempt(context: Any) -> int:
    """How many times this step ran before (0 on the first attempt)."""
    for candidate in (context, getattr(context, "step_context", None)):
        for name in ("retry_number", "previous_attempt_count"):
            try:
                value = getattr(candidate, name, None)
            except Exception:  # noqa: BLE001 - an OutputContext outside a step
                value = None
            if isinstance(value, int):
                return value
    return 0
