"""Two ``@dbt_assets`` over one manifest.

* ``dbt_partitioned_models``: every model tagged ``partitioned`` (silver, rejects, the
  reconciliation tables, gold facts, ``dim_customers``, the daily marts), on the shared
  transaction_date partitions. A run over any window, one day
  or a year, is one ``dbt build``; the window reaches dbt in the environment
  (``RETAIL_WINDOW_MIN_DATE``/``_MAX_DATE``, read by sql/macros/window.sql only when
  a model executes), so a new window re-parses nothing, where ``--vars`` would force a
  full re-parse on every run. Each invocation leaves its parse state for the next one
  (run_folders.py).
* ``dbt_models``: the rest (the other gold dimensions, calendar, churn features, marts),
  rebuilt whole.

dbt tests become asset checks; ``unique``/``not_null`` tests have severity error and are
blocking, so a duplicate key stops everything downstream of it.
"""

import json
import os
from collections.abc import Callable, Iterator, Mapping
from datetime import date, timedelta
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from retail_platform.defs.transforms.project import built_manifest, dbt_project
from retail_platform.defs.transforms.rebuild_days import rebuild_days
from retail_platform.defs.transforms.run_folders import keep_partial_parse, prune_run_folders
from retail_platform.defs.transforms.translator import RetailDbtTranslator
from retail_platform.lib.duckdb_lock import retry_when_locked
from retail_platform.lib.gcp_credentials import CREDENTIALS_ENV, key_file_for_subprocess
from retail_platform.lib.partitions import transaction_date_partitions
from retail_platform.lib.targets import WAREHOUSE_POOL
from retail_platform.lib.warehouse import Warehouse, quoted_table
from retail_platform.settings import (
    MAX_REJECT_RATE_ENV,
    WINDOW_EXTRA_ENV,
    WINDOW_MAX_ENV,
    WINDOW_MIN_ENV,
    environment,
)

PARTITIONED = "tag:partitioned"
# set, or for the unpartitioned models unset
WINDOW_ENV = (WINDOW_MIN_ENV, WINDOW_MAX_ENV, WINDOW_EXTRA_ENV)
#: The reject-rate threshold for one run (sql/macros/reject_rate.sql): a tag, so it can be
#: set wherever a run or backfill is launched and stays on the run as the record of a day
#: accepted with more rejects than usual. Without it, RETAIL_MAX_REJECT_RATE or 0.05.
MAX_REJECT_RATE_TAG = "retail/max_reject_rate"
MANIFEST_PATH = built_manifest()
#: dbt's manifest, read once per process: the dbt assets and the exposures are built from it.
MANIFEST: dict[str, Any] = json.loads(MANIFEST_PATH.read_text())


class DbtRunConfig(dg.Config):
    full_refresh: bool = False


def dbt_window_env(
    context: dg.AssetExecutionContext, warehouse: Warehouse | None = None
) -> dict[str, str]:
    """The run's partition window for sql/macros/window.sql: [min_date, max_date), and,
    given the warehouse, the days outside it that the window's files change
    (rebuild_days.py)."""
    window = context.partition_time_window
    start, end = window.start.date(), window.end.date()
    env = {WINDOW_MIN_ENV: start.isoformat(), WINDOW_MAX_ENV: end.isoformat()}
    extra = rebuild_days(warehouse, start, end) if warehouse is not None else []
    if extra:
        listed = ", ".join(day.isoformat() for day in extra[:10])
        more = f" and {len(extra) - 10} more" if len(extra) > 10 else ""
        context.log.info(
            f"Also rebuilding {len(extra)} day(s) outside the window that its files change "
            f"(a key moved away, or an order's lines, payments or shipments changed): "
            f"{listed}{more}"
        )
        env[WINDOW_EXTRA_ENV] = ",".join(day.isoformat() for day in extra)
    return env


#: The column every partitioned model is partitioned by: the day a row belongs to.
DAY_COLUMN = "transaction_date"
#: A run of at most this many days also lists its rows per day (``rows_by_day``). Each
#: day's materialization carries the run's metadata, so a year's backfill would store
#: the 365-day list 365 times per asset.
ROWS_BY_DAY_MAX_DAYS = 31


def _table_of(context: dg.AssetExecutionContext, event: Any) -> str | None:
    """The warehouse table of a dbt model's output, as the manifest names it."""
    if not isinstance(event, dg.Output):
        return None
    key = context.asset_key_for_output(event.output_name)
    table = context.assets_def.specs_by_key[key].metadata.get("dagster/table_name")
    return None if table is None else str(getattr(table, "value", table))


def _has_day_column(context: dg.AssetExecutionContext, output_name: str) -> bool:
    """Whether the model's yml declares the day column (its column schema, from the
    manifest): the rows of a partition are the rows of that day."""
    key = context.asset_key_for_output(output_name)
    schema = context.assets_def.specs_by_key[key].metadata.get("dagster/column_schema")
    schema = getattr(schema, "schema", schema)
    return schema is not None and DAY_COLUMN in {column.name for column in schema.columns}


def partition_rows_metadata(
    rows_by_day: dict[date, int], start: date, end: date, table_rows: int | None
) -> dict:
    """A partitioned table's counts for the run's days [start, end): their rows as
    ``dagster/row_count`` and ``dagster/partition_row_count`` (what the raw assets report
    for a partition too; a run over a range materializes each of its days with the
    range's total), which days those are, for a range of at most ROWS_BY_DAY_MAX_DAYS each
    day's rows, and the whole table's rows as ``table_row_count``."""
    days = [start + timedelta(days=offset) for offset in range((end - start).days)]
    rows = sum(rows_by_day.get(day, 0) for day in days)
    metadata: dict[str, Any] = {
        "dagster/row_count": rows,
        "dagster/partition_row_count": rows,
        "partition_row_count_days": (
            days[0].isoformat()
            if len(days) == 1
            else f"{days[0]} to {days[-1]} ({len(days)} days, the run's partitions)"
        ),
    }
    if 1 < len(days) <= ROWS_BY_DAY_MAX_DAYS:
        metadata["rows_by_day"] = dg.MetadataValue.json(
            {day.isoformat(): rows_by_day.get(day, 0) for day in days}
        )
    if table_rows is not None:
        metadata["table_row_count"] = table_rows
    return metadata


def with_row_counts(
    context: dg.AssetExecutionContext, events: list[Any], warehouse: Warehouse
) -> Iterator[Any]:
    """Add row counts to each table's materialization once dbt has exited: a partitioned
    model's are the rows of the run's days (partition_rows_metadata), another's
    ``dagster/row_count`` the whole table. Views have none: counting one runs its whole
    query.

    dagster-dbt's ``fetch_row_counts()`` queries while dbt still runs; DuckDB allows one
    writer process per file, so we count afterwards, through the warehouse resource:
    the tables are the manifest's relations, the days query parameters.
    """
    tables = {event.output_name: table for event in events if (table := _table_of(context, event))}
    counts: dict[str, int | None] = {}
    if tables:
        counts = _counted(
            context, "row counts", lambda: warehouse.row_counts(sorted(set(tables.values())))
        )
    by_day: dict[str, dict[date, int]] = {}
    day_tables = sorted({table for name, table in tables.items() if _has_day_column(context, name)})
    if day_tables and context.assets_def.partitions_def is not None:
        window = context.partition_time_window
        start, end = window.start.date(), window.end.date()
        by_day = _counted(
            context,
            "partition row counts",
            lambda: warehouse.rows_by_day(day_tables, DAY_COLUMN, start, end),
        )
    for event in events:
        table = tables.get(getattr(event, "output_name", None), "")
        metadata: dict[str, Any] = {}
        if table in by_day:
            metadata = partition_rows_metadata(by_day[table], start, end, counts.get(table))
        elif counts.get(table) is not None:
            metadata["dagster/row_count"] = counts[table]
        yield event.with_metadata({**event.metadata, **metadata}) if metadata else event


def _counted(context: dg.AssetExecutionContext, what: str, count: Callable[[], dict]) -> dict:
    """``count()``, or nothing when the warehouse cannot answer: the models are built, and a
    missing count must not fail them."""
    try:
        return count()
    except Exception as error:
        context.log.warning(f"{what} unavailable: {error}")
        return {}


STORED_FAILURES_SHOWN = 10  # rows of a failed test's stored failures on its check
CELL_CHARS = 300


def _markdown_table(columns: list[str], rows: list[tuple]) -> str:
    def cell(value: Any) -> str:
        text = "" if value is None else str(value)
        text = text if len(text) <= CELL_CHARS else text[: CELL_CHARS - 1] + "…"
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def with_stored_failures(
    context: dg.AssetExecutionContext,
    events: list[Any],
    manifest: Mapping[str, Any],
    warehouse: Warehouse,
) -> list[Any]:
    """Add the failing rows of each failed dbt test that stores them (``store_failures``,
    e.g. reject_rate_within_threshold: the day's top reasons, counts and examples) to its
    check result, read back from the table dbt wrote (``retail_audit.<test>``): the rule is
    the test's SQL only, the check shows what it found. Read once dbt has exited (DuckDB
    allows one writing process)."""
    result = []
    for event in events:
        if isinstance(event, dg.AssetCheckResult) and not event.passed:
            unique_id = event.metadata.get("unique_id")
            node = manifest.get("nodes", {}).get(getattr(unique_id, "value", unique_id), {})
            if node.get("config", {}).get("store_failures"):
                table = f"{node['schema']}.{node.get('alias') or node['name']}"
                try:
                    frame = warehouse.frame(
                        f"SELECT * FROM {quoted_table(table)} LIMIT {STORED_FAILURES_SHOWN}"
                    )
                except Exception as error:  # the result stands without its rows
                    context.log.warning(f"stored failures of {table} unavailable: {error}")
                else:
                    rows = list(frame.itertuples(index=False, name=None))
                    event = event.with_metadata(
                        {
                            **event.metadata,
                            "failures_table": dg.MetadataValue.text(table),
                            "failing_rows": dg.MetadataValue.md(
                                _markdown_table(list(frame.columns), rows)
                            ),
                        }
                    )
        result.append(event)
    return result


def reject_rate_override(context: dg.AssetExecutionContext) -> dict[str, str]:
    """The run tag's threshold as dbt reads it, or nothing when the run has no such tag."""
    value = context.run.tags.get(MAX_REJECT_RATE_TAG)
    if value is None:
        return {}
    try:
        rate = float(value)
    except ValueError:
        rate = -1.0
    if not 0 <= rate <= 1:
        raise dg.Failure(
            f"Run tag {MAX_REJECT_RATE_TAG} must be a number from 0 to 1, got {value!r}"
        )
    context.log.warning(
        f"This run accepts up to {rate:.0%} rejected rows per day and entity "
        f"(run tag {MAX_REJECT_RATE_TAG})"
    )
    return {MAX_REJECT_RATE_ENV: str(rate)}


def run_dbt(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: Warehouse,
    args: list[str],
    window: dict[str, str],
) -> Iterator[Any]:
    # dbt-bigquery authenticates with ADC; a key given as GCP_CREDENTIALS becomes its key
    # file for the invocation.
    with (
        environment({**window, **reject_rate_override(context)}, unset=WINDOW_ENV),
        key_file_for_subprocess(os.environ.get(CREDENTIALS_ENV)),
    ):
        invocation = dbt.cli(args, context=context, raise_on_error=False)
        events = list(invocation.stream())
    keep_partial_parse(invocation.target_path)
    prune_run_folders(invocation.target_path.parent)
    # Report what did run (materializations, test results) before failing the step, so a
    # failed blocking test shows up as a failed check, not only as a failed step.
    events = with_stored_failures(context, events, invocation.manifest, warehouse)
    yield from with_row_counts(context, events, warehouse)
    if not invocation.is_successful():
        error = invocation.get_error()
        raise error if error else dg.Failure(f"dbt {' '.join(args)} failed")


#: dbt unit tests check the SQL, not the data: they give the same answer on every run, so
#: the pipeline's builds leave them out (each costs queries; on BigQuery, jobs) and pytest
#: runs them (test_dbt_unit_tests.py; by hand, `dbt test --select test_type:unit`).
WITHOUT_UNIT_TESTS = ["--exclude-resource-type", "unit_test"]


def dbt_build_args(full_refresh: bool) -> list[str]:
    return ["build", *WITHOUT_UNIT_TESTS, *(["--full-refresh"] if full_refresh else [])]


@dbt_assets(
    manifest=MANIFEST,
    project=dbt_project,
    select=PARTITIONED,
    name="dbt_partitioned_models",
    partitions_def=transaction_date_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    dagster_dbt_translator=RetailDbtTranslator(),
    pool=WAREHOUSE_POOL,
)
def dbt_partitioned_models(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: Warehouse,
    config: DbtRunConfig,
):
    # A full refresh rebuilds whole tables, so it ignores the window (with it, the
    # rebuilt tables would hold only the window's days).
    with retry_when_locked(context):
        window = {} if config.full_refresh else dbt_window_env(context, warehouse)
        yield from run_dbt(context, dbt, warehouse, dbt_build_args(config.full_refresh), window)


@dbt_assets(
    manifest=MANIFEST,
    project=dbt_project,
    exclude=PARTITIONED,
    name="dbt_models",
    dagster_dbt_translator=RetailDbtTranslator(),
    pool=WAREHOUSE_POOL,
)
def dbt_models(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: Warehouse,
    config: DbtRunConfig,
):
    with retry_when_locked(context):
        yield from run_dbt(context, dbt, warehouse, dbt_build_args(config.full_refresh), {})
