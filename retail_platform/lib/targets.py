"""The two targets and the resources each one wires in.

``RETAIL_TARGET=local`` (default): DuckDB file + a landing folder, no cloud account.
``RETAIL_TARGET=bigquery``: BigQuery + a GCS bucket (completed by the BigQuery issue).
This module is the only place in the code that branches on the target.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg

from retail_platform.lib.gcp_credentials import credentials_env_var

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# The pool every step and check writing or reading the warehouse is in; the instance gives it
# one slot (retail_platform/dagster.yaml, deploy/dagster.yaml): one writer at a time.
WAREHOUSE_POOL = "warehouse"
TARGETS = ("local", "bigquery")
CHURN_ENGINES = ("sklearn", "bqml")


def data_dir() -> Path:
    return Path(os.environ.get("RETAIL_DATA_DIR", PROJECT_ROOT / "data"))


def duckdb_path() -> str:
    return os.environ.get("RETAIL_DUCKDB_PATH", str(data_dir() / "warehouse.duckdb"))


# DuckDB spills joins, aggregations and sorts to disk beyond it. A year's backfill at
# 30,000 order lines a day runs in 2.7 GiB for the whole process tree with it
# (docs/performance.md). sql/profiles.yml repeats it.
DEFAULT_DUCKDB_MEMORY_LIMIT = "2GB"


def duckdb_memory_limit() -> str:
    """DuckDB's memory limit in every process that opens the warehouse: dbt (through
    sql/profiles.yml) and the run worker (IO manager, warehouse resource, raw's duplicate
    counts), per process."""
    return os.environ.get("RETAIL_DUCKDB_MEMORY_LIMIT", DEFAULT_DUCKDB_MEMORY_LIMIT)


def dbt_in_process() -> bool:
    """Whether dbt runs inside the step's process (default) or as a subprocess, as stock
    dagster-dbt runs it (``RETAIL_DBT_IN_PROCESS=false``; defs/transforms/in_process.py)."""
    value = os.environ.get("RETAIL_DBT_IN_PROCESS", "true").strip().lower()
    if value not in ("true", "false"):
        raise ValueError(f"RETAIL_DBT_IN_PROCESS must be true or false, got {value!r}")
    return value == "true"


def landing_uri() -> str:
    return os.environ.get("RETAIL_LANDING", str(data_dir() / "landing"))


def model_dir() -> str:
    return os.environ.get("RETAIL_MODEL_DIR", str(data_dir() / "models"))


def dashboard_dir() -> str:
    """Where ``marts/dashboard`` writes ``index.html`` (a local folder on either target)."""
    return os.environ.get("RETAIL_DASHBOARD_DIR", str(data_dir() / "dashboard"))


@dataclass(frozen=True)
class Target:
    name: str
    warehouse_kind: str  # shown as a kind on every asset in the UI
    churn_engine: str = "sklearn"  # sklearn | bqml

    def churn_engine_resource(self) -> Any:
        from retail_platform.lib.churn.engine import BigQueryMLChurnEngine, SklearnChurnEngine

        if self.churn_engine == "bqml":
            return BigQueryMLChurnEngine(
                project=dg.EnvVar("GCP_PROJECT"),
                location=os.environ.get("GCP_LOCATION"),
                gcp_credentials=credentials_env_var(),
            )
        return SklearnChurnEngine(model_dir=str(Path(model_dir()).resolve()))

    def resources(self) -> dict[str, Any]:
        from retail_platform.defs.transforms.resource import dbt_resource
        from retail_platform.lib.landing_zone import landing_zone_from_uri
        from retail_platform.lib.warehouse import BigQueryWarehouse, DuckDBWarehouse

        dbt = dbt_resource()
        if self.name == "local":
            from retail_platform.lib.io_managers import DuckDBWarehouseIOManager

            database = str(Path(duckdb_path()).resolve())
            Path(database).parent.mkdir(parents=True, exist_ok=True)
            # dbt's profile reads the same file (sql/profiles.yml, target local).
            os.environ["RETAIL_DUCKDB_PATH"] = database
            return {
                "io_manager": DuckDBWarehouseIOManager(
                    database=database, connection_config={"memory_limit": duckdb_memory_limit()}
                ),
                "landing_zone": landing_zone_from_uri(landing_uri()),
                "dbt": dbt,
                "warehouse": DuckDBWarehouse(database=database, memory_limit=duckdb_memory_limit()),
                "churn_engine": self.churn_engine_resource(),
            }
        from retail_platform.lib.io_managers import BigQueryWarehouseIOManager
        from retail_platform.lib.landing_zone import GCSLandingZone

        return {
            "io_manager": BigQueryWarehouseIOManager(
                project=dg.EnvVar("GCP_PROJECT"),
                location=os.environ.get("GCP_LOCATION"),
                gcp_credentials=credentials_env_var(),
            ),
            "landing_zone": GCSLandingZone(
                bucket=dg.EnvVar("RETAIL_LANDING_BUCKET"),
                prefix=os.environ.get("RETAIL_LANDING_PREFIX", "landing"),
                project=dg.EnvVar("GCP_PROJECT"),
                gcp_credentials=credentials_env_var(),
            ),
            "dbt": dbt,
            "warehouse": BigQueryWarehouse(
                project=dg.EnvVar("GCP_PROJECT"),
                location=os.environ.get("GCP_LOCATION"),
                gcp_credentials=credentials_env_var(),
            ),
            "churn_engine": self.churn_engine_resource(),
        }


def current_target() -> Target:
    """The target from ``RETAIL_TARGET``; the churn engine from ``RETAIL_CHURN_ENGINE``
    (default: sklearn locally, bqml on BigQuery; sklearn also runs on BigQuery)."""
    name = os.environ.get("RETAIL_TARGET", "local")
    if name not in TARGETS:
        raise ValueError(f"RETAIL_TARGET must be one of {TARGETS}, got {name!r}")
    engine = os.environ.get("RETAIL_CHURN_ENGINE", "sklearn" if name == "local" else "bqml")
    if engine not in CHURN_ENGINES or (name == "local" and engine == "bqml"):
        raise ValueError(
            f"RETAIL_CHURN_ENGINE must be one of {CHURN_ENGINES} (bqml needs RETAIL_TARGET="
            f"bigquery), got {engine!r}"
        )
    return Target(
        name=name,
        warehouse_kind="duckdb" if name == "local" else "bigquery",
        churn_engine=engine,
    )
