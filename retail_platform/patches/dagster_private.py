"""Private Dagster names used by the code location (Dagster 1.13.27, pinned in uv.lock),
grouped by the piece of ours that needs them. Each group says what that piece replaces,
the upstream issue where one is known, the measured gain, and when it can go.

**Dagster's clock** (``defs/landing/sensors.py``, ``defs/freshness.py``)

* ``get_current_datetime``: ``datetime.now(UTC)`` unless a test freezes it
  (``dagster._core.test_utils.freeze_time``), so the landing sensor and the raw/orders
  deadline check can be tested at chosen times. Replaces ``datetime.now(UTC)``; goes when
  Dagster exposes a public clock, or when those helpers take ``now`` as an argument.

**The demo's launch** (``launch.py``)

* ``WorkspaceProcessContext``, ``WorkspaceFileTarget``, ``JobSubsetSelector``: load the
  workspace and pick a job as the UI's launchpad does, so ``make demo``'s run gets a
  code-location origin. Replace starting a webserver and launching through its GraphQL
  API; go when Dagster has a public launch API that does not queue the run.

**The recipes test's workspace loader** (``retail_platform_tests/test_deploy_recipes.py``)

* ``location_origins_from_yaml_paths``: reads a workspace.yaml (``env:`` values resolved)
  as the daemon and webserver read it, to check that deploy/workspace.yaml points at the
  loopback code server. Replaces starting a webserver on the file; goes when Dagster has
  a public workspace loader.

**Custom instance storages** (``lib/event_log_storage.py``, ``lib/postgres_storage.py``)

* ``ConfigurableClassData``: the config record of an instance plug-in, needed by any
  custom storage class (Dagster's docs for custom storage import it the same way). Goes
  when Dagster exports it publicly.

**The batched SQLite event log** (``lib/event_log_storage.py``, named in
retail_platform/dagster.yaml)

* ``SqliteEventLogStorage`` (the class it extends), ``SqlEventLogStorageTable``,
  ``AssetCheckExecutionsTable`` (the tables it inserts into), ``ASSET_EVENTS``,
  ``AssetCheckExecutionRecordStatus``, ``SQLITE_BUSY_TIMEOUT_SECONDS`` (the stock
  storage's own values). Replaces the stock SQLite event log's way of storing a batch of
  events (one at a time, each with a new engine and connection and a full sync): a batch
  is stored in one transaction per database, and a process keeps its engines open.
  Measured (docs/performance.md): creating a year's backfill run 252 s -> 49 s, then
  42.9 s -> 8.7 s with the cheaper batches; a daily run 26-30 s -> 18-23 s with the open
  engines. No upstream issue known. Goes when the stock storage stores a batch in one
  transaction and keeps its connection, or when the local target's instance moves to
  Postgres (deploy/dagster.yaml's storage needs none of these names).

**The raw layer's IO managers** (``lib/io_managers.py``)

* ``DbIOManager``, ``DbTypeHandler``, ``TableSlice``: the base classes and the table
  record of dagster-duckdb's and dagster-gcp's IO managers, which have no public API for a
  type handler of one's own. ``TableMetadataSet``: the standard ``dagster/row_count`` and
  ``dagster/partition_row_count`` metadata keys. They replace loading a raw window as a
  pandas DataFrame (held in memory, BigQuery's columns upper-cased: dagster-io/dagster#14129)
  with a bulk load of the window's Parquet files (DuckDB ``read_parquet`` in the same
  transaction as the delete; one BigQuery load job), and dagster-duckdb's retry on every
  error with a step retry on the file's lock. Measured: raw's load of a year is 38 s of
  raw's 136 s (docs/performance.md, "Where a year's backfill goes"). Go when dagster-duckdb
  and dagster-gcp load Arrow or Parquet tables (or make the type handler API public).
"""

from dagster._core.definitions.metadata import TableMetadataSet
from dagster._core.definitions.selector import JobSubsetSelector
from dagster._core.events import ASSET_EVENTS
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.db_io_manager import DbIOManager, DbTypeHandler, TableSlice
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.event_log.schema import (
    AssetCheckExecutionsTable,
    SqlEventLogStorageTable,
)
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load import location_origins_from_yaml_paths
from dagster._core.workspace.load_target import WorkspaceFileTarget
from dagster._serdes import ConfigurableClassData
from dagster._time import get_current_datetime

__all__ = [
    "ASSET_EVENTS",
    "SQLITE_BUSY_TIMEOUT_SECONDS",
    "AssetCheckExecutionRecordStatus",
    "AssetCheckExecutionsTable",
    "ConfigurableClassData",
    "DbIOManager",
    "DbTypeHandler",
    "JobSubsetSelector",
    "SqlEventLogStorageTable",
    "SqliteEventLogStorage",
    "TableMetadataSet",
    "TableSlice",
    "WorkspaceFileTarget",
    "WorkspaceProcessContext",
    "get_current_datetime",
    "location_origins_from_yaml_paths",
]
