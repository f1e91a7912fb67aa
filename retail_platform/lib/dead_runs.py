"""Runs that hold a concurrency slot but can no longer give it back: find them, mark the
unfinished ones failed, free their slots.

Dagster frees a run's op slots when its step ends, in the run's own process. A process
killed mid-step (``kill -9``, the OOM killer, a reboot) frees nothing, and the run stays
STARTED: marking it failed does not free the slot either (only the daemon's run
monitoring does, ``free_slots_after_run_end_seconds``, and only for a *finished* run;
with the DefaultRunLauncher run monitoring cannot tell that a STARTED run's process is
gone). With one ``warehouse`` slot, every later run then waits for ever.

Here a run is dead when its lease (``run_leases.py``) exists and no process holds it, or
when its record is gone. A finished run with no lease at all is freed too (nothing else
will give its slots back; Dagster's daemon does the same after
``free_slots_after_run_end_seconds``). A run with a live lease, or unfinished without a
lease (its process is on another machine, or predates the leases), is left alone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from retail_platform.lib.run_leases import RunLeases

if TYPE_CHECKING:
    import dagster as dg

log = logging.getLogger(__name__)

DEAD_RUN_MESSAGE = (
    "Marked failed: the process running it is gone (killed, out of memory, or the machine "
    "restarted) while it held a concurrency slot of pool(s) {pools}; the slot(s) are freed. "
    "Its lease said: {holder}."
)


def free_slots_of_dead_runs(
    instance: dg.DagsterInstance,
    leases: RunLeases,
    holders: Iterable[tuple[str, str]],
) -> list[str]:
    """``holders``: (run id, pool) of every claimed slot and pending step of the pools in
    question. Runs with abandoned leases that hold no slot are handled too (their process
    died between two steps). Returns the ids of the dead runs that held slots of these
    pools, now freed."""
    pools_by_run: dict[str, set[str]] = {}
    for run_id, pool in holders:
        pools_by_run.setdefault(run_id, set()).add(pool)
    for run_id in leases.leased_runs():
        pools_by_run.setdefault(run_id, set())
    freed = []
    for run_id, pools in pools_by_run.items():
        if leases.holds(run_id):  # this very process runs it
            continue
        if _free_if_dead(instance, leases, run_id, sorted(pools)):
            freed.append(run_id)
    return freed


def _free_if_dead(
    instance: dg.DagsterInstance, leases: RunLeases, run_id: str, pools: list[str]
) -> bool:
    with leases.abandoned(run_id) as abandoned:
        if abandoned is False:  # a live process holds it
            return False
        run = instance.get_run_by_id(run_id)
        unfinished = run is not None and not run.is_finished
        if abandoned is None and unfinished:
            return False  # cannot tell: left to run monitoring or to an operator
        if abandoned and unfinished:
            message = DEAD_RUN_MESSAGE.format(
                pools=", ".join(pools) or "none", holder=leases.holder(run_id)
            )
            log.warning("run %s: %s", run_id, message)
            instance.report_run_failed(run, message)
        if pools or abandoned:  # a dead run's slots in other pools go too
            instance.event_log_storage.free_concurrency_slots_for_run(run_id)
        if abandoned:
            leases.remove(run_id)
        return bool(pools)
