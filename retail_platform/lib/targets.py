"""The two targets, and the paths of the local one.

``RETAIL_TARGET=local`` (default): DuckDB file + a landing folder, no cloud account.
``RETAIL_TARGET=bigquery``: BigQuery + a GCS bucket. The resources each target wires in
are in ``retail_platform/defs/resources.py``; the variables and their defaults in
``retail_platform/settings.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from retail_platform.settings import (
    CHURN_ENGINES,
    DEFAULT_DUCKDB_MEMORY_LIMIT,
    PROJECT_ROOT,
    TARGETS,
    settings,
)

__all__ = [
    "CHURN_ENGINES",
    "DEFAULT_DUCKDB_MEMORY_LIMIT",
    "PROJECT_ROOT",
    "TARGETS",
    "WAREHOUSE_POOL",
    "Target",
    "current_target",
    "dashboard_dir",
    "data_dir",
    "dbt_in_process",
    "duckdb_memory_limit",
    "duckdb_path",
    "landing_uri",
    "model_dir",
]

# The pool every step and check writing or reading the warehouse is in; the instance gives it
# one slot (retail_platform/dagster.yaml, deploy/dagster.yaml): one writer at a time.
WAREHOUSE_POOL = "warehouse"


def data_dir() -> Path:
    return settings().data_dir


def duckdb_path() -> str:
    return settings().duckdb_path


def duckdb_memory_limit() -> str:
    """DuckDB's memory limit in every process that opens the warehouse (settings.py)."""
    return settings().duckdb_memory_limit


def dbt_in_process() -> bool:
    """Whether dbt runs inside the step's process (default) or as a subprocess
    (``RETAIL_DBT_IN_PROCESS=false``; defs/transforms/in_process.py)."""
    return settings().dbt_in_process


def landing_uri() -> str:
    return settings().landing


def model_dir() -> str:
    return settings().model_dir


def dashboard_dir() -> str:
    """Where ``marts/dashboard`` writes ``index.html`` (a local folder on either target)."""
    return settings().dashboard_dir


@dataclass(frozen=True)
class Target:
    name: str
    warehouse_kind: str  # shown as a kind on every asset in the UI
    churn_engine: str = "sklearn"  # sklearn | bqml

    @property
    def ml_kind(self) -> str:
        """The kind the UI shows on the model assets: where they train."""
        return "sklearn" if self.churn_engine == "sklearn" else "bigqueryml"


def current_target() -> Target:
    """The target from ``RETAIL_TARGET``; the churn engine from ``RETAIL_CHURN_ENGINE``
    (default: sklearn locally, bqml on BigQuery; sklearn also runs on BigQuery)."""
    current = settings()
    return Target(
        name=current.target,
        warehouse_kind="duckdb" if current.target == "local" else "bigquery",
        churn_engine=current.churn_engine,
    )
