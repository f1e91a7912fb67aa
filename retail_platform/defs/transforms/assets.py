"""Two ``@dbt_assets`` over one manifest.

* ``dbt_partitioned_models``: every model tagged ``partitioned`` (silver, gold facts,
  rejects), on the shared transaction_date partitions. A run over any window, one day
  or a year, is one ``dbt build`` with the window passed as ``--vars``.
* ``dbt_models``: the rest (gold dimensions, calendar, marts views, reconciliation views),
  rebuilt whole.

dbt tests become asset checks; ``unique``/``not_null`` tests have severity error and are
blocking, so a duplicate key stops everything downstream of it.
"""

import json
from collections.abc import Iterator
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from retail_platform.defs.transforms.project import dbt_project, ensure_manifest
from retail_platform.defs.transforms.translator import RetailDbtTranslator
from retail_platform.lib.partitions import transaction_date_partitions
from retail_platform.lib.targets import WAREHOUSE_POOL
from retail_platform.lib.warehouse import Warehouse

PARTITIONED = "tag:partitioned"
MANIFEST = ensure_manifest()


class DbtRunConfig(dg.Config):
    full_refresh: bool = False


def dbt_window_vars(context: dg.AssetExecutionContext) -> dict[str, str]:
    """The run's partition window as dbt vars: [min_date, max_date), end-exclusive."""
    window = context.partition_time_window
    return {"min_date": window.start.date().isoformat(), "max_date": window.end.date().isoformat()}


def with_row_counts(events: list[Any], warehouse: Warehouse) -> Iterator[Any]:
    """Add ``dagster/row_count`` to each materialization once dbt has exited.

    dagster-dbt's ``fetch_row_counts()`` queries while dbt still runs; DuckDB allows one
    writer process per file, so we count afterwards, through the read-only warehouse
    resource (a metadata call on BigQuery, a count on DuckDB).
    """
    for event in events:
        table = event.metadata.get("dagster/table_name") if isinstance(event, dg.Output) else None
        if table is not None:
            rows = warehouse.row_count(str(table.value if hasattr(table, "value") else table))
            event = event.with_metadata({**event.metadata, "dagster/row_count": rows})
        yield event


def run_dbt(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse, args: list[str]
) -> Iterator[Any]:
    events = list(dbt.cli(args, context=context).stream())
    yield from with_row_counts(events, warehouse)


def dbt_build_args(window_vars: dict[str, str] | None, full_refresh: bool) -> list[str]:
    args = ["build"]
    if window_vars:
        args += ["--vars", json.dumps(window_vars, sort_keys=True)]
    if full_refresh:
        args.append("--full-refresh")
    return args


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
    args = dbt_build_args(dbt_window_vars(context), config.full_refresh)
    yield from run_dbt(context, dbt, warehouse, args)


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
    yield from run_dbt(context, dbt, warehouse, dbt_build_args(None, config.full_refresh))
