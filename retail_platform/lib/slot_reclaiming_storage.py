"""The local instance's event log storage: ``BatchedSqliteEventLogStorage`` that also gives
back the concurrency slots of dead runs, and lets a run blocked on a slot stop.

Dagster claims and frees op concurrency slots through the event log storage, in every
process that asks about them, so the storage is the one place that sees every blocked
step, whatever started the run (``dagster job execute``, ``make demo``'s in-process run,
a sensor run launched by the daemon) and whatever executor runs it, with no code in any
step:

* a run's process takes its lease (``run_leases.py``) before it claims its first slot and
  gives it back when the run ends;
* when a claim is refused, and whenever anyone reads a pool's occupancy
  (``get_concurrency_infos``: the run queue daemon deciding whether a QUEUED run can start,
  the UI's pool page), the runs holding the pool's slots are checked and those whose
  process is gone are marked failed and their slots freed (``dead_runs.py``), then the
  claim is tried again;
* a blocked step waits ``BLOCKED_POLL_SECONDS`` between claims, asleep and interruptible.
  Stock Dagster 1.13.27 never sleeps while blocked (``ActiveExecution.sleep_interval``
  takes ``InstanceConcurrencyContext.interval_to_next_pending_claim_check()``, which returns
  ``min([0, ...])``, always <= 0; upstream PR dagster-io/dagster#20367 was closed
  unmerged): the process spins a whole core, and it never looks at the SIGTERM/SIGINT its
  ``capture_interrupts`` recorded, so ``dagster job execute`` cannot be stopped. Here the
  wait runs under ``dagster.raise_execution_interrupts`` (public API), so SIGTERM or Ctrl-C
  ends the run as "interrupted" at once and the process exits.

The hooks are a mixin (``ReclaimsDeadRunSlots``) over any of Dagster's SQL event log
storages; ``SlotReclaimingEventLogStorage`` is the SQLite one the local instance names.
The lease folder is ``$DAGSTER_HOME/history/run_leases`` (next to the event logs): leases
work between processes on one machine, which is where a SQLite instance lives.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg

from retail_platform.lib.dead_runs import free_slots_of_dead_runs
from retail_platform.lib.event_log_storage import BatchedSqliteEventLogStorage, default_base_dir
from retail_platform.lib.run_leases import RunLeases

BLOCKED_POLL_SECONDS = 1.0  # a blocked step asks for its slot again after this long
RUN_END_EVENTS = {
    dg.DagsterEventType.RUN_SUCCESS,
    dg.DagsterEventType.RUN_FAILURE,
    dg.DagsterEventType.RUN_CANCELED,
}


class ReclaimsDeadRunSlots:
    """The hooks, for any of Dagster's SQL event log storages (``SqlEventLogStorage``:
    SQLite here; Postgres with ``class X(ReclaimsDeadRunSlots, PostgresEventLogStorage)``
    and a ``lease_folder``, when its runs start on one machine)."""

    def lease_folder(self) -> Path:
        raise NotImplementedError

    @property
    def leases(self) -> RunLeases:
        if getattr(self, "_leases", None) is None:
            self._leases = RunLeases(self.lease_folder())
            # Per run, the one blocked step whose claim sleeps: one wait per pass of the
            # executor's loop, however many of the run's steps are blocked.
            self._pacing_step: dict[str, str] = {}
        return self._leases

    def claim_concurrency_slot(
        self, concurrency_key: str, run_id: str, step_key: str, priority: int | None = None
    ):
        self.leases.hold(run_id)
        status = super().claim_concurrency_slot(concurrency_key, run_id, step_key, priority)
        if not status.is_claimed and self.free_slots_of_dead_runs([concurrency_key]):
            status = super().claim_concurrency_slot(concurrency_key, run_id, step_key, priority)
        if status.is_claimed:
            if self._pacing_step.get(run_id) == step_key:
                del self._pacing_step[run_id]
            return status
        if self._pacing_step.setdefault(run_id, step_key) != step_key:
            return status.with_sleep_interval(BLOCKED_POLL_SECONDS)
        # Raises DagsterExecutionInterruptedError if SIGTERM/SIGINT came (before or during
        # the wait) on the main thread: the run fails as interrupted and the process exits.
        with dg.raise_execution_interrupts():
            time.sleep(BLOCKED_POLL_SECONDS)
        return status.with_sleep_interval(0.0)

    def get_concurrency_infos(self, concurrency_keys: Sequence[str]) -> Mapping[str, Any]:
        infos = super().get_concurrency_infos(concurrency_keys)
        if self.free_slots_of_dead_runs(concurrency_keys, infos):
            infos = super().get_concurrency_infos(concurrency_keys)
        return infos

    def free_slots_of_dead_runs(
        self, concurrency_keys: Sequence[str], infos: Mapping[str, Any] | None = None
    ) -> list[str]:
        """Free the slots (and pending claims) that dead runs hold in these pools; the ids
        of those runs."""
        # `has_instance` / `_instance`: the instance this storage belongs to, set by
        # DagsterInstance.__init__ (register_instance); Dagster's own SqlEventLogStorage
        # reads it the same way. None in a storage built outside an instance.
        if not self.has_instance:
            return []
        if infos is None:
            infos = super().get_concurrency_infos(concurrency_keys)
        holders = [
            (holder.run_id, key)
            for key, info in infos.items()
            for holder in [*info.claimed_slots, *info.pending_steps]
        ]
        return free_slots_of_dead_runs(self._instance, self.leases, holders)

    def store_event(self, event: Any) -> None:
        super().store_event(event)
        if event.dagster_event_type in RUN_END_EVENTS and self.leases.holds(event.run_id):
            self.leases.release(event.run_id)
            self._pacing_step.pop(event.run_id, None)


class SlotReclaimingEventLogStorage(ReclaimsDeadRunSlots, BatchedSqliteEventLogStorage):
    """The local instance's storage (retail_platform/dagster.yaml)."""

    def __init__(self, base_dir: str | None = None, inst_data: Any = None) -> None:
        self._leases_base_dir = base_dir or default_base_dir()
        super().__init__(base_dir=self._leases_base_dir, inst_data=inst_data)

    def lease_folder(self) -> Path:
        return Path(self._leases_base_dir).parent / "run_leases"  # $DAGSTER_HOME/history/
