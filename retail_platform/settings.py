"""Every setting of the platform: its environment variable, default, validation and meaning.

Every ``RETAIL_*`` variable the package or the dbt project uses is declared here, and this
is the only module of the package that writes to ``os.environ`` (tests check both; other
modules still read a few variables of other tools directly: ``GCP_CREDENTIALS``, a secret
passed on as ``dagster.EnvVar``, ``STORAGE_EMULATOR_HOST``, ``PATH``):

* :data:`VARIABLES` declares each variable the code or the dbt project reads: its name, its
  default as the README shows it, who sets and reads it, and one line on what it means.
  README.md's environment-variable table is generated from it (``python -m
  retail_platform.settings``; a test keeps the two identical).
* :func:`settings` returns the values, read from the environment once per distinct
  environment (a process's environment does not change after start, except in tests and
  inside :func:`environment` blocks). Each value is checked when it is first used, as
  before this module existed (a bad RETAIL_TARGET fails loading the definitions, not
  ``retail-platform demo``'s start), with an error that names the variable;
  :meth:`Settings.check` checks them all. Values that only dbt reads (``read_by="dbt"``)
  are checked by the macro that reads them (sql/macros/).
* :func:`environment` sets variables for a block and restores them, for what reads the
  environment rather than arguments: dbt (``env_var()`` in sql/, its ``DBT_*`` flags) and a
  dbt subprocess, which inherits it. The dbt step's window and reject rate
  (defs/transforms/assets.py), the in-process runner's copy of an invocation's environment
  (defs/transforms/in_process.py), a key file for dbt-bigquery (lib/gcp_credentials.py),
  ``PATH`` while `make setup` parses (defs/transforms/project.py). The dbt resource passes
  its own values (the warehouse path) to each invocation instead (defs/resources.py).
* Two process-wide writes, for Dagster, which reads these from the environment:
  :func:`turn_on_event_batching` (``DAGSTER_EVENT_BATCH_SIZE``, read in the process that
  stores events, not from the instance's config: the instance's storages set it when they
  are created) and :func:`use_dagster_home` (``DAGSTER_HOME``, for ``make dev`` and ``make
  demo``).

Importing it imports nothing else from the package, so any module may use it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]

TARGETS = ("local", "bigquery")
CHURN_ENGINES = ("sklearn", "bqml")


@dataclass(frozen=True)
class Variable:
    """One environment variable: README's row, and the default the code applies."""

    name: str
    #: The default as README.md shows it ("–": none; the feature is off, or it must be set).
    default: str
    description: str
    #: Who reads it: "python" (through :func:`settings`), "dbt" (``env_var()`` in sql/), both.
    read_by: str = "python"


# Defaults the code applies (README shows them through VARIABLES below).
DEFAULT_TARGET = "local"
DEFAULT_START_DATE = "2025-01-01"
# DuckDB spills joins, aggregations and sorts to disk beyond it. A year's backfill at 30,000
# order lines a day runs in 2.7 GiB for the whole process tree with it (docs/performance.md).
# sql/profiles.yml repeats it (a test keeps the two equal).
DEFAULT_DUCKDB_MEMORY_LIMIT = "2GB"
DEFAULT_LOCK_RETRIES = 6
DEFAULT_LOCK_WAIT_SECONDS = 15.0
DEFAULT_DEADLINE_HOUR = 6
DEFAULT_LANDING_PREFIX = "landing"
DEFAULT_WEBSERVER_URL = "http://127.0.0.1:3000"
DEFAULT_BATCH_SIZE = "1000"

TARGET_ENV = "RETAIL_TARGET"
START_DATE_ENV = "RETAIL_START_DATE"
DATA_DIR_ENV = "RETAIL_DATA_DIR"
DUCKDB_PATH_ENV = "RETAIL_DUCKDB_PATH"
DUCKDB_MEMORY_LIMIT_ENV = "RETAIL_DUCKDB_MEMORY_LIMIT"
LOCK_RETRIES_ENV = "RETAIL_DUCKDB_LOCK_RETRIES"
LOCK_WAIT_ENV = "RETAIL_DUCKDB_LOCK_WAIT_SECONDS"
MAX_REJECT_RATE_ENV = "RETAIL_MAX_REJECT_RATE"
DEADLINE_HOUR_ENV = "RETAIL_ORDERS_DEADLINE_HOUR_UTC"
DBT_IN_PROCESS_ENV = "RETAIL_DBT_IN_PROCESS"
LANDING_ENV = "RETAIL_LANDING"
DAGSTER_HOME_ENV = "DAGSTER_HOME"
CHURN_ENGINE_ENV = "RETAIL_CHURN_ENGINE"
MODEL_DIR_ENV = "RETAIL_MODEL_DIR"
DASHBOARD_DIR_ENV = "RETAIL_DASHBOARD_DIR"
CHURN_LABEL_DAYS_ENV = "RETAIL_CHURN_LABEL_DAYS"
CHURN_AS_OF_ENV = "RETAIL_CHURN_AS_OF"
GCP_PROJECT_ENV = "GCP_PROJECT"
GCP_LOCATION_ENV = "GCP_LOCATION"
LANDING_BUCKET_ENV = "RETAIL_LANDING_BUCKET"
LANDING_PREFIX_ENV = "RETAIL_LANDING_PREFIX"
WEBHOOK_ENV = "RETAIL_ALERT_WEBHOOK_URL"
WEBSERVER_ENV = "DAGSTER_WEBSERVER_URL"
WINDOW_MIN_ENV = "RETAIL_WINDOW_MIN_DATE"
WINDOW_MAX_ENV = "RETAIL_WINDOW_MAX_DATE"
WINDOW_EXTRA_ENV = "RETAIL_WINDOW_EXTRA_DAYS"
BATCH_SIZE_ENV = "DAGSTER_EVENT_BATCH_SIZE"

_SET_BY_THE_STEP = "set by the dbt step for each invocation, never by hand: "

VARIABLES: tuple[Variable, ...] = (
    Variable(TARGET_ENV, f"`{DEFAULT_TARGET}`",
             "`local` (DuckDB + folder) or `bigquery` (BigQuery + GCS)", "python, dbt"),
    Variable(START_DATE_ENV,
             f"the first day of `make demo`'s data (`data/demo.json`), else `{DEFAULT_START_DATE}`",
             "first `transaction_date` partition; set, it wins"),
    Variable(DATA_DIR_ENV, "`data/`", "where the local target keeps its files"),
    Variable(DUCKDB_PATH_ENV, "`data/warehouse.duckdb`", "the embedded warehouse",
             "python, dbt"),
    Variable(DUCKDB_MEMORY_LIMIT_ENV, f"`{DEFAULT_DUCKDB_MEMORY_LIMIT}`",
             "DuckDB's memory limit per process, in dbt and in the run worker; DuckDB spills "
             "to disk beyond it (a year's backfill runs in 2.7 GiB in all)", "python, dbt"),
    Variable(LOCK_RETRIES_ENV, f"`{DEFAULT_LOCK_RETRIES}`",
             "a step that finds the DuckDB file locked by another process retries this many "
             "times"),
    Variable(LOCK_WAIT_ENV, f"`{DEFAULT_LOCK_WAIT_SECONDS:g}`",
             "seconds before the first such retry, doubled each time (at most 240 s)"),
    Variable(MAX_REJECT_RATE_ENV, "`0.05`",
             "the most a day's landed rows of a fact entity that validation may reject: above "
             "it `reject_rate_<entity>` fails and gold is not built for the run (one run: the "
             "run tag `retail/max_reject_rate`)", "dbt"),
    Variable(DEADLINE_HOUR_ENV, f"`{DEFAULT_DEADLINE_HOUR}`",
             "hour (UTC) by which yesterday's `raw/orders` partition must be loaded (the "
             "warning check `raw/orders:yesterday_loaded_by_deadline`)"),
    Variable(DBT_IN_PROCESS_ENV, "`true`",
             "dbt runs inside the step's process (imports paid once per run); `false` starts "
             "a dbt subprocess per step, as stock dagster-dbt does (docs/architecture.md)"),
    Variable(LANDING_ENV, "`data/landing`", "landing zone: a folder or `gs://bucket/prefix`"),
    Variable(DAGSTER_HOME_ENV, "`data/dagster_home`",
             "Dagster instance (runs, schedules, sensor cursors)"),
    Variable(CHURN_ENGINE_ENV, "`sklearn` (local), `bqml` (bigquery)",
             "where the churn model and the sales forecast train (`bqml`: BigQuery ML); "
             "`sklearn` works on both targets"),
    Variable(MODEL_DIR_ENV, "`data/models`", "model versions of the `sklearn` engine"),
    Variable(DASHBOARD_DIR_ENV, "`data/dashboard`",
             "where `marts/dashboard` writes `index.html`"),
    Variable(CHURN_LABEL_DAYS_ENV, "`60`",
             "days without a purchase that make a customer churned", "dbt"),
    Variable(CHURN_AS_OF_ENV, "day after the latest sale",
             "scoring cutoff (YYYY-MM-DD), to replay an earlier day", "dbt"),
    Variable(GCP_PROJECT_ENV, "–",
             "the BigQuery target's project: see [docs/gcp.md](docs/gcp.md)", "python, dbt"),
    Variable(GCP_LOCATION_ENV, "–",
             "the BigQuery target's location: see [docs/gcp.md](docs/gcp.md)", "python, dbt"),
    Variable(LANDING_BUCKET_ENV, "–",
             "the BigQuery target's landing bucket: see [docs/gcp.md](docs/gcp.md)"),
    Variable(LANDING_PREFIX_ENV, f"`{DEFAULT_LANDING_PREFIX}`",
             "the folder in the landing bucket that source systems write to"),
    Variable(WEBHOOK_ENV, "–",
             "a Slack-compatible webhook (a secret) for run-failure, failed-check and "
             "freshness alerts; unset: the alert sensors skip"),
    Variable(WEBSERVER_ENV, f"`{DEFAULT_WEBSERVER_URL}`",
             "the UI's address, for the links in alerts"),
    Variable(WINDOW_MIN_ENV, "–",
             _SET_BY_THE_STEP + "the first day of the run's partition window", "dbt"),
    Variable(WINDOW_MAX_ENV, "–",
             _SET_BY_THE_STEP + "the day after the window's last", "dbt"),
    Variable(WINDOW_EXTRA_ENV, "–",
             _SET_BY_THE_STEP + "days outside the window that its files change", "dbt"),
)  # fmt: skip

NAMES = tuple(variable.name for variable in VARIABLES)


class SettingsError(ValueError):
    """A variable's value is not valid: the message names the variable (a secret's value is
    never shown)."""


@dataclass(frozen=True)
class Settings:
    """The declared variables' values in one environment; each property checks its own."""

    values: Mapping[str, str | None]

    def _get(self, name: str) -> str | None:
        return self.values[name]

    def _or(self, name: str, default: str) -> str:
        """The variable's value when set (even empty), else ``default``."""
        value = self.values[name]
        return value if value is not None else default

    def check(self) -> Settings:
        """Every Python-read value checked (the first bad one raises); ``self``."""
        for name in dir(type(self)):
            if isinstance(getattr(type(self), name), property):
                getattr(self, name)
        return self

    @property
    def target(self) -> str:
        name = self._or(TARGET_ENV, DEFAULT_TARGET)
        if name not in TARGETS:
            raise SettingsError(f"{TARGET_ENV} must be one of {TARGETS}, got {name!r}")
        return name

    @property
    def churn_engine(self) -> str:
        target = self.target
        engine = self._or(CHURN_ENGINE_ENV, "sklearn" if target == "local" else "bqml")
        if engine not in CHURN_ENGINES or (target == "local" and engine == "bqml"):
            raise SettingsError(
                f"{CHURN_ENGINE_ENV} must be one of {CHURN_ENGINES} (bqml needs {TARGET_ENV}="
                f"bigquery), got {engine!r}"
            )
        return engine

    @property
    def start_date(self) -> str | None:
        """``RETAIL_START_DATE`` (YYYY-MM-DD) when set; lib/partitions.py resolves the rest."""
        value = self._get(START_DATE_ENV)
        if value is not None:
            try:
                date.fromisoformat(value)
            except ValueError:
                raise SettingsError(f"{START_DATE_ENV} must be YYYY-MM-DD, got {value!r}") from None
        return value

    @property
    def data_dir(self) -> Path:
        value = self._get(DATA_DIR_ENV)
        return Path(value) if value is not None else PROJECT_ROOT / "data"

    def _in_data_dir(self, name: str, file: str) -> str:
        return self._or(name, str(self.data_dir / file))

    @property
    def duckdb_path(self) -> str:
        return self._in_data_dir(DUCKDB_PATH_ENV, "warehouse.duckdb")

    @property
    def duckdb_memory_limit(self) -> str:
        """DuckDB's memory limit in every process that opens the warehouse: dbt (through
        sql/profiles.yml) and the run worker (IO manager, warehouse resource, raw's
        duplicate counts), per process."""
        return self._or(DUCKDB_MEMORY_LIMIT_ENV, DEFAULT_DUCKDB_MEMORY_LIMIT)

    def _number(self, name: str, kind: type, default: float, what: str) -> Any:
        """``name``'s value as ``kind`` (int or float), ``default`` when unset."""
        value = self._get(name)
        if value is None:
            return default
        try:
            return kind(value)
        except ValueError:
            raise SettingsError(f"{name} must be {what}, got {value!r}") from None

    @property
    def duckdb_lock_retries(self) -> int:
        return self._number(LOCK_RETRIES_ENV, int, DEFAULT_LOCK_RETRIES, "a whole number")

    @property
    def duckdb_lock_wait_seconds(self) -> float:
        return self._number(LOCK_WAIT_ENV, float, DEFAULT_LOCK_WAIT_SECONDS, "a number of seconds")

    @property
    def orders_deadline_hour_utc(self) -> int:
        """The hour (UTC, 0-23) by which yesterday's orders must have loaded."""
        value = (self._get(DEADLINE_HOUR_ENV) or "").strip() or str(DEFAULT_DEADLINE_HOUR)
        if not value.isdigit() or not 0 <= int(value) <= 23:
            raise SettingsError(f"{DEADLINE_HOUR_ENV} must be an hour 0-23, got {value!r}")
        return int(value)

    @property
    def dbt_in_process(self) -> bool:
        """Whether dbt runs inside the step's process (default) or as a subprocess, as stock
        dagster-dbt runs it (``RETAIL_DBT_IN_PROCESS=false``; defs/transforms/in_process.py)."""
        value = self._or(DBT_IN_PROCESS_ENV, "true").strip().lower()
        if value not in ("true", "false"):
            raise SettingsError(f"{DBT_IN_PROCESS_ENV} must be true or false, got {value!r}")
        return value == "true"

    @property
    def landing(self) -> str:
        return self._in_data_dir(LANDING_ENV, "landing")

    @property
    def landing_prefix(self) -> str:
        return self._or(LANDING_PREFIX_ENV, DEFAULT_LANDING_PREFIX)

    @property
    def model_dir(self) -> str:
        return self._in_data_dir(MODEL_DIR_ENV, "models")

    @property
    def dashboard_dir(self) -> str:
        """Where ``marts/dashboard`` writes ``index.html`` (a local folder on either target)."""
        return self._in_data_dir(DASHBOARD_DIR_ENV, "dashboard")

    @property
    def dagster_home(self) -> str | None:
        """``DAGSTER_HOME`` when set (not empty)."""
        return self._get(DAGSTER_HOME_ENV) or None

    @property
    def gcp_location(self) -> str | None:
        return self._get(GCP_LOCATION_ENV)

    @property
    def alert_webhook_url(self) -> str | None:
        """The webhook URL, or None when alerting is off (the variable unset or blank)."""
        return (self._get(WEBHOOK_ENV) or "").strip() or None

    @property
    def webserver_url(self) -> str:
        """Where the Dagster UI is, for links in alerts (no trailing slash)."""
        return ((self._get(WEBSERVER_ENV) or "").strip() or DEFAULT_WEBSERVER_URL).rstrip("/")


def settings() -> Settings:
    """The settings of the current environment, read once per distinct environment."""
    return _settings_of(tuple(os.environ.get(name) for name in NAMES))


@lru_cache(maxsize=16)
def _settings_of(values: tuple[str | None, ...]) -> Settings:
    return Settings(values=dict(zip(NAMES, values, strict=True)))


@contextmanager
def environment(values: Mapping[str, str], unset: Iterable[str] = ()) -> Iterator[None]:
    """``values`` set and ``unset`` removed in ``os.environ`` for the block; afterwards each
    of these variables is as before. Other variables are never touched, so another thread
    never sees the environment empty.

    For what reads the environment rather than arguments: dbt (its flags, ``env_var()`` in
    sql/) and a dbt subprocess, which inherits it. The block must last as long as what reads
    the variables (a dbt invocation: until it has finished)."""
    names = {*values, *unset}
    saved = {name: os.environ.get(name) for name in names}
    for name in unset:
        os.environ.pop(name, None)
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def turn_on_event_batching() -> None:
    """Dagster's event batching for this process (``DAGSTER_EVENT_BATCH_SIZE``), unless the
    environment already sets it. Dagster reads the variable, not the instance's config, in
    whichever process stores events, so the instance's event log storages call this when
    they are created (lib/event_log_storage.py, lib/postgres_storage.py)."""
    os.environ.setdefault(BATCH_SIZE_ENV, DEFAULT_BATCH_SIZE)


def use_dagster_home(home: Path) -> None:
    """Make ``home`` this process's ``DAGSTER_HOME``: Dagster finds its instance through the
    variable (``DagsterInstance.get()``), and the processes it starts (run workers) inherit
    it. ``make dev`` and ``make demo`` pick the home (instance.py's ``dagster_home``)."""
    os.environ[DAGSTER_HOME_ENV] = str(home)


def environment_table() -> str:
    """README.md's table of environment variables, generated from :data:`VARIABLES`."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [f"| `{v.name}` | {v.default} | {v.description} |" for v in VARIABLES]
    return "\n".join(rows) + "\n"


if __name__ == "__main__":  # regenerate README.md's table: paste its output there
    print(environment_table(), end="")
