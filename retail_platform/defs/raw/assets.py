"""One raw asset per landing entity: ``["raw", <entity>]``, partitioned by transaction_date.

A run for a partition window reads every landing file of those days, adds
``_source_file``, ``_source_line``, ``_ingested_at`` and ``_partition_date``, stages each
day as a Parquet file and hands the batches to the IO manager, which replaces exactly
that window: re-running a partition never duplicates it. A backfill of many days is one
run (``BackfillPolicy.single_run``) that holds one day in memory at a time.
"""

import tempfile
from pathlib import Path

import dagster as dg

from retail_platform.lib.entities import ENTITIES, PARTITION_COLUMN, Entity
from retail_platform.lib.landing_zone import LandingZone
from retail_platform.lib.partitions import transaction_date_partitions
from retail_platform.lib.raw_batches import (
    duplicate_counts,
    raw_column_types,
    stage_raw_window,
)
from retail_platform.lib.targets import WAREHOUSE_POOL, Target
from retail_platform.lib.warehouse import Warehouse

RAW_SCHEMA = "retail_raw"
CLUSTER_COLUMNS = ("store_id",)  # raw tables that have it are clustered by it on BigQuery
OWNERS = ["team:data-platform"]


def raw_asset_key(entity_name: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", entity_name])


def build_raw_asset(entity: Entity, target: Target) -> dg.AssetsDefinition:
    key = raw_asset_key(entity.name)
    check = dg.AssetCheckSpec(
        name="no_duplicate_natural_keys",
        asset=key,
        description=(
            f"No natural key ({', '.join(entity.natural_key)}) appears twice in a partition. "
            "Warn only: raw keeps what landed; silver removes duplicates "
            "and keeps the newest version."
        ),
    )

    @dg.asset(
        key=key,
        group_name="raw",
        partitions_def=transaction_date_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=WAREHOUSE_POOL,
        kinds={"python", "parquet", target.warehouse_kind},
        owners=OWNERS,
        check_specs=[check],
        description=(
            f"Every landed `{entity.name}` file of the partition, values as landed (text), "
            "plus `_extra` (unexpected fields), `_source_file`, `_source_line`, `_ingested_at` "
            f"and `{PARTITION_COLUMN}` (the folder's date). Malformed files are quarantined."
        ),
        metadata={
            "partition_expr": PARTITION_COLUMN,
            "schema": RAW_SCHEMA,
            "natural_key": ", ".join(entity.natural_key),
            "dagster/column_schema": dg.TableSchema(
                columns=[
                    dg.TableColumn(name, kind) for name, kind in raw_column_types(entity).items()
                ]
            ),
        },
    )
    def raw_entity(
        context: dg.AssetExecutionContext, landing_zone: LandingZone, warehouse: Warehouse
    ):
        window = context.partition_time_window
        with tempfile.TemporaryDirectory(prefix=f"raw-{entity.name}-") as staging:
            landed = stage_raw_window(
                landing_zone,
                entity,
                window.start.date(),
                window.end.date(),
                Path(staging),
                log=context.log.warning,
            )
            warehouse.prepare_partitioned_table(
                f"{RAW_SCHEMA}.{entity.name}",
                raw_column_types(entity),
                PARTITION_COLUMN,
                cluster_by=[c for c in CLUSTER_COLUMNS if c in entity.column_names],
            )
            counts = duplicate_counts(entity, landed.batches)
            rows = landed.batches.rows
            # The IO manager loads the staged files while this generator waits here.
            yield dg.Output(
                landed.batches,
                metadata={
                    "dagster/row_count": rows,
                    "files_loaded": len(landed.files),
                    "files_quarantined": dg.MetadataValue.json(landed.quarantined),
                    "landing_zone": landing_zone.uri(),
                    **counts,
                },
            )
        yield dg.AssetCheckResult(
            check_name=check.name,
            passed=counts["duplicate_key_rows"] == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={**counts, "rows": rows},
        )

    return raw_entity


def raw_assets(target: Target) -> list[dg.AssetsDefinition]:
    return [build_raw_asset(entity, target) for entity in ENTITIES.values()]
