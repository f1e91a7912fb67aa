"""The production instance's event log storage (deploy/dagster.yaml): Dagster's Postgres event
log with the dead-run slot reclaiming of the local instance (``slot_reclaiming_storage.py``).

Why production needs it: deploy/dagster.yaml runs on one VM (docker compose, or plain
processes) with the DefaultRunLauncher, which starts every run as a subprocess of the code
server. Run monitoring cannot tell that such a run's process is gone (the DefaultRunLauncher
has no ``check_run_worker_health``), so a run killed mid-step (OOM, ``kill -9``, a container
restart) would hold the ``warehouse`` pool's one slot for ever and every later run would
wait. The run leases (``run_leases.py``: a ``flock`` per run, dropped by the kernel when the
process dies) answer that question for every process on the machine, provided they all see
the same lease folder: a volume mounted at the same path into the code server, daemon and
webserver containers (``lease_folder`` below, default ``$DAGSTER_HOME/run_leases``). flock
works across containers of one host on a local volume; it does not on NFS-like shares
between hosts.

On Kubernetes (K8sRunLauncher, a pod per run) use ``PooledPostgresEventLogStorage`` (below:
the stock storage keeping its connection) instead: each pod has its own file system, so a
lease could not be seen by anyone else, and run monitoring's run worker health check
(``check_run_worker_health``) fails a run whose pod died;
``free_slots_after_run_end_seconds`` then frees its slots (docs/deploy.md).

Only the production instance imports this module (it needs dagster-postgres); the local
instance keeps ``SlotReclaimingEventLogStorage`` on SQLite.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dagster import Field, StringSource
from dagster_postgres import PostgresEventLogStorage

# How PostgresEventLogStorage.from_config_value reads its own config (the URL, and the token
# provider of `auth_provider: gcp_wif`, Cloud SQL IAM auth): the same helpers, so the
# subclass accepts exactly the stock class's config plus `lease_folder`.
from dagster_postgres.utils import get_token_provider_from_config, pg_url_from_config

from retail_platform.lib.slot_reclaiming_storage import ReclaimsDeadRunSlots
from retail_platform.patches.dagster_private import ConfigurableClassData
from retail_platform.settings import settings, turn_on_event_batching


def default_lease_folder() -> str:
    """``$DAGSTER_HOME/run_leases``: DAGSTER_HOME is the same path in every process of one
    deployment (and a volume, in compose)."""
    home = settings().dagster_home
    if not home:
        raise ValueError("DAGSTER_HOME is not set and the event log storage has no lease_folder")
    return os.path.join(home, "run_leases")


# The webserver's own defaults for its pool (dagster-webserver --db-pool-recycle,
# --db-pool-max-overflow): connections older than an hour are replaced, and threads of one
# process (the daemon's) may open up to 20 more while the one kept is busy.
POOL_RECYCLE_SECONDS = 3600
POOL_MAX_OVERFLOW = 20
NO_STATEMENT_TIMEOUT = 0  # a run's or the daemon's statements: as the stock storage, no limit


class PooledPostgresEventLogStorage(PostgresEventLogStorage):
    """Dagster's Postgres event log, keeping one connection per process open.

    Replaces: dagster-postgres opens a new connection for every statement (``NullPool``, so
    that no ``DagsterInstance`` holds a connection), except in the webserver, which calls
    ``optimize_for_webserver`` at start. A run stores each event with two or three
    statements (the event, the asset index, a check's row), and creating a year's range run
    stores ~15,700 planned events one by one: a connection costs 15 ms on loopback
    (scram-sha-256 authentication and a new server backend; more through the Cloud SQL Auth
    Proxy), 0.7 ms once pooled. Measured with benchmarks/bench_instance.py (figures in
    docs/deploy.md). Here every process does what the webserver does, through the same
    public method: a pool of one kept connection (plus overflow for concurrent threads).
    A process holds at most one idle connection: the code server, daemon, webserver and up
    to 4 runs (deploy/dagster.yaml) stay far below Cloud SQL's connection limit.
    Can go when dagster-postgres pools connections in run workers (or makes it a setting).

    Creating it also turns on Dagster's event batching for the process (unless
    ``DAGSTER_EVENT_BATCH_SIZE`` is set), as the local instance's storage does: the stock
    Postgres storage writes a batch of materializations with one INSERT, which halves a
    daily run's time spent on the event log (docs/deploy.md).
    """

    def __init__(
        self,
        postgres_url: str,
        should_autocreate_tables: bool = True,
        inst_data: ConfigurableClassData | None = None,
        token_provider: Any = None,
    ) -> None:
        super().__init__(
            postgres_url=postgres_url,
            should_autocreate_tables=should_autocreate_tables,
            inst_data=inst_data,
            token_provider=token_provider,
        )
        self.optimize_for_webserver(NO_STATEMENT_TIMEOUT, POOL_RECYCLE_SECONDS, POOL_MAX_OVERFLOW)
        turn_on_event_batching()

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> PooledPostgresEventLogStorage:
        return cls(inst_data=inst_data, **cls.arguments_from_config(config_value))

    @classmethod
    def arguments_from_config(cls, config_value: Mapping[str, Any]) -> dict[str, Any]:
        """The constructor's arguments, read from the config as the stock class reads it."""
        return {
            "postgres_url": pg_url_from_config(config_value),
            "should_autocreate_tables": config_value.get("should_autocreate_tables", True),
            "token_provider": get_token_provider_from_config(config_value),
        }


class SlotReclaimingPostgresEventLogStorage(ReclaimsDeadRunSlots, PooledPostgresEventLogStorage):
    """``PooledPostgresEventLogStorage`` + ``ReclaimsDeadRunSlots``; config: the Postgres storage's
    (``postgres_db`` or ``postgres_url``, ...) and an optional ``lease_folder``."""

    def __init__(
        self,
        postgres_url: str,
        lease_folder: str | None = None,
        should_autocreate_tables: bool = True,
        inst_data: ConfigurableClassData | None = None,
        token_provider: Any = None,
    ) -> None:
        self._lease_folder = Path(lease_folder or default_lease_folder())
        super().__init__(
            postgres_url=postgres_url,
            should_autocreate_tables=should_autocreate_tables,
            inst_data=inst_data,
            token_provider=token_provider,
        )

    def lease_folder(self) -> Path:
        return self._lease_folder

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {
            **PostgresEventLogStorage.config_type(),
            "lease_folder": Field(StringSource, is_required=False),
        }

    @classmethod
    def arguments_from_config(cls, config_value: Mapping[str, Any]) -> dict[str, Any]:
        return {
            **super().arguments_from_config(config_value),
            "lease_folder": config_value.get("lease_folder"),
        }
