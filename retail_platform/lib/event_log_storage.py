"""Dagster's SQLite event log, writing a batch of asset events in one transaction.

A run over a year of partitions reports one "materialization planned" event per asset and
partition before its first step (43 partitioned assets x 365 days = 15,695), one "check
planned" event per asset check (a row per partition each), and one materialization per
asset and partition as the steps finish. Dagster hands asset events to the storage in
batches when ``DAGSTER_EVENT_BATCH_SIZE`` is set, but the stock SQLite storage then stores
them one at a time: a new engine, connection and commit for the run's shard and another for
the cross-run index, about 15 ms per event (measured: 252 s of the year's backfill before
its first step). Here a batch is:

* each event serialized once (the stock storage serializes it for the run's shard and
  again for the index) and inserted with one executemany per database, the index's rows
  returning their ids;
* the asset table (the UI's "latest" per asset) updated once per asset and event type with
  the batch's last such event, which leaves it as updating it for every event would;
* a check's planned rows (one per partition) serialized once and inserted with one
  executemany (the stock storage serializes the event again for every partition).

The instance (``retail_platform/dagster.yaml``) names this class; creating it turns
batching on for the process unless ``DAGSTER_EVENT_BATCH_SIZE`` is already set
(``settings.turn_on_event_batching``). The private Dagster names it builds on, and when
it can go: ``retail_platform/patches/dagster_private.py``. Events
other than asset materializations, observations and planned materializations (check
events, run status) take the stock path, in their order within the batch.

Every other event (step start and output, a dbt test's check result, a log line: about
450 in a daily run) is stored one at a time, and the stock storage opens each database
for it with a new engine and connection, then commits with a full sync. Here a process
keeps one engine per database (the last ``OPEN_DATABASES`` used) and its connection, and
commits with ``synchronous=NORMAL``: in SQLite's WAL mode (which Dagster sets) the
database stays consistent if the process or the machine crashes; a power loss can drop
the last events, never corrupt the file. Measured: a daily run 26-30 s -> 18-23 s, the
same partition in fresh processes (docs/performance.md).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as db
from dagster import EventLogEntry, Field, StringSource, serialize_value

from retail_platform.patches.dagster_private import (
    ASSET_EVENTS,
    SQLITE_BUSY_TIMEOUT_SECONDS,
    AssetCheckExecutionRecordStatus,
    AssetCheckExecutionsTable,
    ConfigurableClassData,
    SqlEventLogStorageTable,
    SqliteEventLogStorage,
)
from retail_platform.settings import settings, turn_on_event_batching

OPEN_DATABASES = 8  # the index and the shards of the runs a process writes or reads


def default_base_dir() -> str:
    """Where Dagster's default instance keeps its event logs: ``$DAGSTER_HOME/history/runs``."""
    home = settings().dagster_home
    if not home:
        raise ValueError("DAGSTER_HOME is not set and the event log has no base_dir")
    return os.path.join(home, "history", "runs", "")


def _is_asset_event(event: EventLogEntry) -> bool:
    return event.is_dagster_event and event.dagster_event_type in ASSET_EVENTS


def _runs_of(events: Sequence[EventLogEntry]) -> Iterator[tuple[bool, list[EventLogEntry]]]:
    """Consecutive events grouped by whether they are asset events of one run."""
    group: list[EventLogEntry] = []
    for event in events:
        if group and (
            _is_asset_event(event) != _is_asset_event(group[0]) or event.run_id != group[0].run_id
        ):
            yield _is_asset_event(group[0]), group
            group = []
        group.append(event)
    if group:
        yield _is_asset_event(group[0]), group


class BatchedSqliteEventLogStorage(SqliteEventLogStorage):
    def __init__(
        self, base_dir: str | None = None, inst_data: ConfigurableClassData | None = None
    ) -> None:
        turn_on_event_batching()
        self._asset_key_index_cols = False  # see _has_asset_key_index_cols_on_connection
        self._engines: OrderedDict[str, db.Engine] = OrderedDict()
        self._engines_pid = os.getpid()
        super().__init__(base_dir=base_dir or default_base_dir(), inst_data=inst_data)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[db.Connection]:
        """The stock ``_connect`` (one transaction under the storage's lock), on this
        process's open engine for the shard instead of a new one each time."""
        with self._db_lock:
            engine = self._engine(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def _engine(self, shard: str) -> db.Engine:
        # Called under the storage's lock (_connect), like every use of the engines.
        if self._engines_pid != os.getpid():  # a forked child: never share a connection
            self._engines, self._engines_pid = OrderedDict(), os.getpid()
        engine = self._engines.get(shard)
        if engine is None:
            engine = db.create_engine(
                self.conn_string_for_shard(shard),
                poolclass=db.pool.QueuePool,
                pool_size=1,
                connect_args={
                    "timeout": SQLITE_BUSY_TIMEOUT_SECONDS,
                    "check_same_thread": False,  # used under the storage's lock only
                },
            )
            db.event.listen(engine, "connect", _commit_without_full_sync)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            self._engines[shard] = engine
            while len(self._engines) > OPEN_DATABASES:
                self._engines.popitem(last=False)[1].dispose()
        self._engines.move_to_end(shard)
        return engine

    def dispose(self) -> None:
        with self._db_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()
        super().dispose()

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: dict[str, Any]
    ) -> BatchedSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        for asset_events, group in _runs_of(events):
            if asset_events and len(group) > 1:
                self._store_asset_events(group)
            else:
                for event in group:
                    self.store_event(event)

    def _store_asset_events(self, events: list[EventLogEntry]) -> None:
        """What ``store_event`` does for each asset event, for all of them at once."""
        rows = [self._event_to_row(event) for event in events]
        with self.run_connection(events[0].run_id) as conn:
            conn.execute(SqlEventLogStorageTable.insert(), rows)
        with self.index_transaction() as conn:
            inserted = conn.execute(
                SqlEventLogStorageTable.insert().returning(
                    SqlEventLogStorageTable.c.id, sort_by_parameter_order=True
                ),
                rows,
            )
            event_ids = [row[0] for row in inserted]
            self._store_asset_event_tags(conn, events, event_ids)
            for index in _last_per_asset_and_type(events):
                self._store_asset_event(conn, events[index], event_ids[index])

    def _has_asset_key_index_cols_on_connection(self, conn: Any) -> bool:
        # Asked for every asset event; an inspection of the table each time. Once the
        # columns exist (a migrated instance) they stay.
        if not self._asset_key_index_cols:
            self._asset_key_index_cols = super()._has_asset_key_index_cols_on_connection(conn)
        return self._asset_key_index_cols

    def _store_asset_check_evaluation_planned(
        self, event: EventLogEntry, event_id: int | None
    ) -> None:
        planned = event.get_dagster_event().event_specific_data
        subset = planned.partitions_subset
        fixed = dict(
            asset_key=planned.asset_key.to_string(),
            check_name=planned.check_name,
            run_id=event.run_id,
            execution_status=AssetCheckExecutionRecordStatus.PLANNED.value,
            evaluation_event=serialize_value(event),
            evaluation_event_timestamp=self._event_insert_timestamp(event),
            evaluation_event_storage_id=event_id,
        )
        rows = [
            {**fixed, "partition": key}
            for key in (subset.get_partition_keys() if subset else [None])
        ]
        with self.index_connection() as conn:
            conn.execute(AssetCheckExecutionsTable.insert(), rows)


def _commit_without_full_sync(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


def _last_per_asset_and_type(events: Sequence[EventLogEntry]) -> list[int]:
    """Positions of each asset's last event of each type, in batch order. The asset table's
    columns are each written by some event types and overwritten by the next such event,
    so these updates leave the table as updating it for every event does."""
    last: dict[tuple[Any, Any], int] = {}
    for index, event in enumerate(events):
        last[(event.get_dagster_event().asset_key, event.dagster_event_type)] = index
    return sorted(last.values())
