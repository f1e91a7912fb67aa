"""The platform on temporary paths: real Dagster runs, real dbt, a real DuckDB file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from retail_platform.defs.ml.assets import ml_assets
from retail_platform.defs.raw.assets import raw_assets
from retail_platform.defs.transforms.assets import dbt_models, dbt_partitioned_models
from retail_platform.defs.transforms.checks import reconciliation_checks
from retail_platform.defs.transforms.resource import dbt_resource
from retail_platform.lib.churn.engine import SklearnChurnEngine
from retail_platform.lib.io_managers import DuckDBWarehouseIOManager
from retail_platform.lib.landing_zone import LocalLandingZone
from retail_platform.lib.targets import PROJECT_ROOT, Target, duckdb_memory_limit
from retail_platform.lib.warehouse import DuckDBWarehouse

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
LOCAL = Target("local", "duckdb")
MEMORY_LIMIT = duckdb_memory_limit()  # as the local target's resources set it
ALL_ASSETS = [*raw_assets(LOCAL), dbt_partitioned_models, dbt_models, *ml_assets(LOCAL)]
#: raw, silver, gold and every mart but customer_health (which reads the churn scores).
WITHOUT_ML = (
    dg.AssetSelection.all()
    - dg.AssetSelection.groups("ml")
    - dg.AssetSelection.assets(dg.AssetKey(["marts", "customer_health"]))
)
# Columns that record when something ran, not what the data is.
RUN_TIME_COLUMNS = {"_ingested_at", "ingested_at"}


@dataclass
class LocalPlatform:
    landing_root: Path
    database: Path
    # One instance across this platform's runs: it is the churn model registry.
    instance: dg.DagsterInstance = field(default_factory=dg.DagsterInstance.ephemeral)

    @property
    def landing(self) -> LocalLandingZone:
        # settle_seconds=0: the tests write every file whole before they run the platform.
        return LocalLandingZone(root=str(self.landing_root), settle_seconds=0)

    def resources(self) -> dict:
        return {
            "io_manager": DuckDBWarehouseIOManager(
                database=str(self.database), connection_config={"memory_limit": MEMORY_LIMIT}
            ),
            "landing_zone": self.landing,
            "dbt": dbt_resource(),
            "warehouse": DuckDBWarehouse(database=str(self.database), memory_limit=MEMORY_LIMIT),
            "churn_engine": SklearnChurnEngine(model_dir=str(self.database.parent / "models")),
        }

    def run(
        self,
        first: date,
        last: date | None = None,
        selection: str | list | None = None,
        raise_on_error: bool = True,
        run_config: dict | None = None,
        resources: dict | None = None,
        tags: dict[str, str] | None = None,
        extra_assets: list[dg.AssetsDefinition] | None = None,
    ) -> dg.ExecuteInProcessResult:
        """Materialize the window [first, last] (inclusive) as one run. By default every
        layer but the churn model's (tests of the churn layer select it explicitly);
        ``resources`` replace the platform's own by name; ``extra_assets`` join the
        platform's (the forecast's and the recommender's, with their engines in
        ``resources``)."""
        last = last or first
        if selection is None:
            selection = WITHOUT_ML
        elif isinstance(selection, list):  # these assets and their own checks, nothing else
            selection = dg.AssetSelection.assets(*selection)
        os.environ["RETAIL_DUCKDB_PATH"] = str(self.database)  # read by sql/profiles.yml
        # dbt's parse state depends on the DuckDB path: one state folder per warehouse, so
        # only this platform's first dbt invocation parses the whole project.
        saved_target = os.environ.get("DBT_TARGET_PATH")
        os.environ["DBT_TARGET_PATH"] = str(self.dbt_target)
        try:
            return dg.materialize(
                [*ALL_ASSETS, *(extra_assets or []), *reconciliation_checks],
                selection=selection,
                resources={**self.resources(), **(resources or {})},
                tags={RANGE_START: first.isoformat(), RANGE_END: last.isoformat(), **(tags or {})},
                raise_on_error=raise_on_error,
                instance=self.instance,
                run_config=run_config,
            )
        finally:
            if saved_target is None:
                os.environ.pop("DBT_TARGET_PATH", None)
            else:
                os.environ["DBT_TARGET_PATH"] = saved_target

    def run_models(
        self, last: date, selection: list[dg.AssetKey], **options: Any
    ) -> dg.ExecuteInProcessResult:
        """A run of ``selection`` on the day ``last`` with the sales forecast's and the
        recommender's assets and their local engines added (the platform's own runs leave
        them out, so a warehouse has neither until a test makes them)."""
        from retail_platform.defs.ml.forecast import forecast_assets
        from retail_platform.defs.ml.recommendations import recommendation_assets
        from retail_platform.lib.forecast.engine import SklearnForecastEngine
        from retail_platform.lib.recommend.engine import SklearnRecommendationEngine

        engines = {
            "forecast_engine": SklearnForecastEngine(),
            "recommendation_engine": SklearnRecommendationEngine(),
        }
        return self.run(
            last,
            selection=selection,
            resources={**engines, **options.pop("resources", {})},
            extra_assets=[*forecast_assets(LOCAL), *recommendation_assets(LOCAL)],
            **options,
        )

    def run_out_of_order(
        self, first: date, last: date | None = None, **options: Any
    ) -> dg.ExecuteInProcessResult:
        """A run of days whose customers, stores or products may land on a day not run yet:
        their rows are unknown_* rejects until then, so the run may fail, but only on the
        reject-rate checks (a bad day is never green); the day's other layers are rebuilt
        when the missing keys land."""
        result = self.run(first, last, raise_on_error=False, **options)
        if not result.success:
            failed_steps = {e.step_key for e in result.get_step_failure_events()}
            failed_checks = {
                e.check_name
                for e in result.get_asset_check_evaluations()
                if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR
            }
            assert failed_steps == {"dbt_partitioned_models"}, failed_steps
            assert failed_checks, "the run failed without a failing check"
            assert all(name.startswith("reject_rate_") for name in failed_checks), failed_checks
        return result

    @property
    def dbt_target(self) -> Path:
        return self.database.parent / f"dbt-target-{self.database.stem}"

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A writable connection, for tests that change the warehouse behind dbt's back."""
        return duckdb.connect(str(self.database))

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.database), read_only=True) as connection:
            return connection.execute(sql).fetchall()

    def frame(self, sql: str):
        with duckdb.connect(str(self.database), read_only=True) as connection:
            return connection.execute(sql).df()

    def tables(self, *schemas: str) -> list[str]:
        names = ", ".join(f"'{s}'" for s in schemas)
        rows = self.query(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            f"WHERE table_schema IN ({names}) ORDER BY 1"
        )
        return [r[0] for r in rows]

    def snapshot(self, *schemas: str) -> dict[str, list[tuple]]:
        """Every row of every table in ``schemas``, sorted, without run-time columns."""
        result = {}
        for table in self.tables(*schemas):
            schema, name = table.split(".")
            columns = [
                c
                for (c,) in self.query(
                    "SELECT column_name FROM information_schema.columns "
                    f"WHERE table_schema = '{schema}' AND table_name = '{name}' "
                    "ORDER BY ordinal_position"
                )
                if c not in RUN_TIME_COLUMNS
            ]
            listed = ", ".join(f'"{c}"' for c in columns)
            result[table] = self.query(f"SELECT {listed} FROM {table} ORDER BY ALL")
        return result

    def copy_to(self, folder: Path) -> LocalPlatform:
        """A independent copy (landing files and warehouse) to change in one test."""
        folder.mkdir(parents=True, exist_ok=True)
        landing = folder / "landing"
        shutil.copytree(self.landing_root, landing)
        database = folder / "warehouse.duckdb"
        shutil.copyfile(self.database, database)
        models = self.database.parent / "models"
        if models.exists():
            shutil.copytree(models, folder / "models")
        return LocalPlatform(landing_root=landing, database=database)


def check_evaluation(result: dg.ExecuteInProcessResult, check_name: str) -> dg.AssetCheckEvaluation:
    """The one evaluation of the check ``check_name`` in the run."""
    (evaluation,) = [e for e in result.get_asset_check_evaluations() if e.check_name == check_name]
    return evaluation


def days(first: date, count: int) -> list[date]:
    return [first + timedelta(days=i) for i in range(count)]


def run_dbt(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """The dbt CLI on the project in sql/, its target and logs under ``tmp_path``."""
    dbt = str(Path(sys.executable).with_name("dbt"))
    return subprocess.run(
        [dbt, *args],
        cwd=PROJECT_ROOT / "sql",
        env={
            **os.environ,
            "DBT_TARGET_PATH": str(tmp_path / "target"),
            "DBT_LOG_PATH": str(tmp_path / "logs"),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
