"""One raw asset per landing entity: ``["raw", <entity>]``, partitioned by transaction_date.

A run for a partition window reads every landing file of those days, adds
``_source_file``, ``_source_line``, ``_ingested_at`` and ``_partition_date``, stages each
day as a Parquet file and hands the batches to the IO manager, which replaces exactly
that window: re-running a partition never duplicates it. A backfill of many days is one
run (``BackfillPolicy.single_run``) that holds one day in memory at a time.

Because the IO manager deletes the window before loading it, the asset refuses to hand
over a window that would delete rows by mistake: a landing root that does not exist
fails the step before anything is read, and a day that staged no rows while the
warehouse holds rows for it fails the step unless the run carries the tag
``retail/allow_empty_partitions=true`` (``lib/raw_batches.py``). A DuckDB file locked by
another process retries the step (``lib/duckdb_lock.py``).
"""

import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

import dagster as dg

from retail_platform.lib.duckdb_lock import retry_when_locked
from retail_platform.lib.entities import ENTITIES, LINEAGE_DESCRIPTIONS, PARTITION_COLUMN, Entity
from retail_platform.lib.landing_zone import LandingZone, parse_landing_path
from retail_platform.lib.partitions import transaction_date_partitions
from retail_platform.lib.raw_batches import (
    ALLOW_EMPTY_TAG,
    allows_empty_partitions,
    days_in,
    duplicate_counts,
    raw_column_types,
    refusal_message,
    refused_empty_days,
    stage_raw_window,
    unreachable_landing_root,
)
from retail_platform.lib.targets import WAREHOUSE_POOL, Target
from retail_platform.lib.warehouse import Warehouse

RAW_SCHEMA = "retail_raw"
#: Entities whose sources deliver a file every day: a day without one is worth a warning.
DAILY_ENTITIES = ("orders", "order_items", "payments", "inventory")
QUARANTINE_LISTED = 100  # quarantined files named in a materialization's metadata, at most
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

    quarantine_check = dg.AssetCheckSpec(
        name="no_unresolved_quarantined_files",
        asset=key,
        description=(
            f"No {entity.name} file of the partition sits in quarantine/ unresolved (a file "
            "moved there because it could not be loaded, with no corrected file landed at its "
            "path since). Warn: the day's other files loaded; see docs/operations.md."
        ),
    )
    checks = [check, quarantine_check]
    if entity.name in DAILY_ENTITIES:
        checks.append(
            dg.AssetCheckSpec(
                name="files_landed",
                asset=key,
                description=(
                    f"At least one {entity.name} file landed for each day of the partition: "
                    "the source delivers every day. Warn: an empty day loads as empty."
                ),
            )
        )

    @dg.asset(
        key=key,
        group_name="raw",
        partitions_def=transaction_date_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=WAREHOUSE_POOL,
        kinds={"python", "parquet", target.warehouse_kind},
        owners=OWNERS,
        check_specs=checks,
        description=(
            f"Every landed `{entity.name}` file of the partition, values as landed (text), "
            "plus `_extra` (unexpected fields), `_source_file`, `_source_line`, `_ingested_at` "
            f"and `{PARTITION_COLUMN}` (the folder's date). Malformed files are quarantined."
        ),
        metadata={
            "partition_expr": PARTITION_COLUMN,
            "schema": RAW_SCHEMA,
            "natural_key": ", ".join(entity.natural_key),
            "dagster/column_schema": raw_column_schema(entity),
        },
    )
    def raw_entity(
        context: dg.AssetExecutionContext, landing_zone: LandingZone, warehouse: Warehouse
    ):
        table = f"{RAW_SCHEMA}.{entity.name}"
        problem = unreachable_landing_root(landing_zone)
        if problem:
            raise dg.Failure(description=problem, allow_retries=False)
        window = context.partition_time_window
        with (
            retry_when_locked(context),
            tempfile.TemporaryDirectory(prefix=f"raw-{entity.name}-") as staging,
        ):
            landed = stage_raw_window(
                landing_zone,
                entity,
                window.start.date(),
                window.end.date(),
                Path(staging),
                log=context.log.warning,
            )
            held = refused_empty_days(
                landed,
                lambda days: warehouse.partition_row_counts(table, PARTITION_COLUMN, days),
            )
            emptied = {day.isoformat(): rows for day, rows in held.items()}
            if held and not allows_empty_partitions(context.run.tags):
                raise dg.Failure(
                    description=refusal_message(table, landing_zone.uri(), entity.name, held),
                    metadata={"rows_by_day": dg.MetadataValue.json(emptied)},
                    allow_retries=False,
                )
            if held:
                context.log.warning(
                    f"Emptying {len(held)} day(s) of {table} ({ALLOW_EMPTY_TAG}=true): {emptied}"
                )
            warehouse.prepare_partitioned_table(
                table,
                raw_column_types(entity),
                PARTITION_COLUMN,
                cluster_by=[c for c in CLUSTER_COLUMNS if c in entity.column_names],
            )
            in_quarantine = quarantined_in_window(
                landing_zone, entity.name, window.start.date(), window.end.date(), landed.files,
                log=context.log.info,
            )  # fmt: skip
            counts = duplicate_counts(entity, landed.batches)
            rows = landed.batches.rows
            # The IO manager loads the staged files while this generator waits here.
            yield dg.Output(
                landed.batches,
                metadata={
                    "dagster/row_count": rows,
                    "files_loaded": len(landed.files),
                    "files_quarantined": dg.MetadataValue.json(landed.quarantined),
                    "files_in_quarantine": dg.MetadataValue.json(
                        dict(list(in_quarantine.items())[:QUARANTINE_LISTED])
                    ),
                    "landing_zone": landing_zone.uri(),
                    "days_emptied": dg.MetadataValue.json(emptied),
                    **counts,
                },
            )
        yield dg.AssetCheckResult(
            check_name=check.name,
            passed=counts["duplicate_key_rows"] == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={**counts, "rows": rows},
        )
        yield quarantine_result(quarantine_check.name, in_quarantine)
        if entity.name in DAILY_ENTITIES:
            yield landed_result(landed.files, window.start.date(), window.end.date())

    return raw_entity


def raw_column_schema(entity: Entity) -> dg.TableSchema:
    """The raw table's columns, each described from the contract (lib/entities.py). Raw
    keeps every landed value as its text, so a column's type here is the raw table's; the
    description names the contract type silver casts it to."""
    kinds = dict(entity.columns)

    def description(name: str) -> str:
        if name not in kinds:
            return LINEAGE_DESCRIPTIONS[name]
        text = entity.column_description(name)
        if kinds[name] == "string":
            return text
        return f"{text} Kept as the landed text; silver casts it to {kinds[name]}."

    return dg.TableSchema(
        columns=[
            dg.TableColumn(name, kind, description=description(name))
            for name, kind in raw_column_types(entity).items()
        ]
    )


def quarantined_in_window(
    zone: LandingZone,
    entity: str,
    start: date,
    end: date,
    loaded: list[str],
    log: Callable[[str], None] = lambda _: None,
) -> dict[str, str]:
    """The entity's files of the days [start, end) that sit in quarantine (path -> reason),
    after resolving those whose path received the file this step loaded (a corrected file:
    quarantining moved the old one away from that path)."""
    loaded_paths = set(loaded)
    unresolved = {}
    for path in zone.list_quarantined(entity):
        if not start <= parse_landing_path(path).partition_date < end:
            continue
        if path in loaded_paths:
            moved = zone.resolve_quarantined(path)
            log(f"{path}: a corrected file loaded; its quarantined copy moved to {moved}")
            continue
        unresolved[path] = zone.quarantine_reason(path) or "(no report)"
    return unresolved


def quarantine_result(check_name: str, in_quarantine: dict[str, str]) -> dg.AssetCheckResult:
    days = sorted({str(parse_landing_path(path).partition_date) for path in in_quarantine})
    return dg.AssetCheckResult(
        check_name=check_name,
        passed=not in_quarantine,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            f"{len(in_quarantine)} file(s) of {', '.join(days)} in quarantine: fix each and drop "
            "it again at its original path (docs/operations.md, 'A quarantined file')"
            if in_quarantine
            else None
        ),
        metadata={
            "unresolved_files": len(in_quarantine),
            "days": dg.MetadataValue.json(days),
            "files": dg.MetadataValue.json(dict(list(in_quarantine.items())[:QUARANTINE_LISTED])),
        },
    )


def landed_result(loaded: list[str], start: date, end: date) -> dg.AssetCheckResult:
    with_files = {parse_landing_path(path).partition_date for path in loaded}
    missing = [day.isoformat() for day in days_in(start, end) if day not in with_files]
    listed = ", ".join(missing[:10]) + (
        f" and {len(missing) - 10} more" if len(missing) > 10 else ""
    )
    return dg.AssetCheckResult(
        check_name="files_landed",
        passed=not missing,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"no files landed for {listed}" if missing else None,
        metadata={
            "days_without_files": dg.MetadataValue.json(missing),
            "files_loaded": len(loaded),
        },
    )


def raw_assets(target: Target) -> list[dg.AssetsDefinition]:
    return [build_raw_asset(entity, target) for entity in ENTITIES.values()]
