"""The per-invocation folders dagster-dbt makes under dbt's target path.

dagster-dbt runs each dbt invocation in a new folder ``<target>/<op>-<run>-<id>`` and
seeds it with ``<target>/partial_parse.msgpack``, but never writes that file back. After
anything that made dbt re-parse (a new DuckDB path, an edited model), every later run
would re-parse again; keeping the newest parse state makes the next run start from it.
dbt validates the state it is given (profile, vars, env vars, file hashes), so a state
that does not fit only costs a re-parse, never a wrong result.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

PARTIAL_PARSE = "partial_parse.msgpack"
KEEP_RUN_FOLDERS = 20
MIN_AGE_SECONDS = 600  # a folder this recent may belong to a run still going


def keep_partial_parse(run_folder: Path) -> bool:
    """Make ``run_folder``'s parse state the one the next invocation starts from.

    Returns whether the shared state changed. The replace is atomic, so a run starting
    at the same time copies either the old file or the new one.
    """
    fresh = run_folder / PARTIAL_PARSE
    shared = run_folder.parent / PARTIAL_PARSE
    if not fresh.is_file():
        return False
    if shared.is_file() and shared.read_bytes() == fresh.read_bytes():
        return False
    staging = shared.with_name(f".{PARTIAL_PARSE}.{os.getpid()}")
    shutil.copyfile(fresh, staging)
    os.replace(staging, shared)
    return True


def prune_run_folders(target: Path, keep: int = KEEP_RUN_FOLDERS) -> list[Path]:
    """Delete all but the newest ``keep`` invocation folders (logs, compiled SQL,
    run_results) under ``target``; folders younger than ten minutes always stay."""
    if not target.is_dir():  # dbt failed before it wrote anything: its error is what counts
        return []
    folders = sorted(
        (p for p in target.iterdir() if p.is_dir() and p.name.count("-") >= 2),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    cutoff = time.time() - MIN_AGE_SECONDS
    removed = [p for p in folders[keep:] if p.stat().st_mtime < cutoff]
    for folder in removed:
        shutil.rmtree(folder, ignore_errors=True)
    return removed
