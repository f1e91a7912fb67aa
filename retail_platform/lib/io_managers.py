"""The IO managers of the two targets: dagster's pandas IO managers for DuckDB and
BigQuery, plus a type handler each for :class:`ParquetBatches`, the raw layer's output.

A raw asset stages its window as one Parquet file per day (``lib/raw_batches.py``); the
IO manager deletes the window's rows as usual (the partition filter of dagster-duckdb /
dagster-gcp) and then loads the files in bulk: DuckDB reads them with ``read_parquet``,
BigQuery takes them in one load job. Neither holds the window in memory as a DataFrame,
and no column is renamed on the way (the pandas handler upper-cases BigQuery columns,
dagster-io/dagster#14129).

On DuckDB the delete and the load are one transaction (``_DuckDBClient``): a load that
fails (a full disk, a bad file) leaves the window as it was instead of deleted. The file
is opened once, without dagster-duckdb's retries on every error: a lock held by another
process becomes a step retry, anything else fails at once (``lib/duckdb_lock.py``). An
empty window still creates the (empty) table, as ``prepare_partitioned_table`` does on
BigQuery, so dbt finds every raw table whatever the order days are loaded in.

A raw table grows with the contract: a column the contract gained is added to the existing
table before the load (``ALTER TABLE ... ADD COLUMN``; on DuckDB in the load's
transaction), null in the rows loaded before, and named
in the materialization's ``columns_added`` and a log line. A column the table holds and
the contract no longer lists fails the load (``warehouse.columns_to_add``): never dropped,
never left null without a word (docs/contract.md, "Changing the contract").

The private Dagster names the handlers build on, and when they can go:
``retail_platform/patches/dagster_private.py``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from dagster import InputContext, MetadataValue, OutputContext
from dagster_duckdb.io_manager import DuckDbClient
from dagster_duckdb_pandas import DuckDBPandasIOManager, DuckDBPandasTypeHandler
from dagster_gcp_pandas import BigQueryPandasIOManager, BigQueryPandasTypeHandler

from retail_platform.lib import duckdb_lock
from retail_platform.lib.raw_batches import ParquetBatches
from retail_platform.lib.warehouse import (
    checked_column_name,
    columns_to_add,
    quoted_column,
    quoted_table,
)
from retail_platform.patches.dagster_private import (
    DbIOManager,
    DbTypeHandler,
    TableMetadataSet,
    TableSlice,
)


def _row_count(context: OutputContext, rows: int, storage_kind: str) -> dict[str, Any]:
    return dict(
        TableMetadataSet(partition_row_count=rows, storage_kind=storage_kind)
        if context.has_partition_key
        else TableMetadataSet(row_count=rows, storage_kind=storage_kind)
    )


# The raw tables' Arrow types (raw_batches.raw_schema) as each warehouse spells them.
_DUCKDB_TYPES = {pa.string(): "VARCHAR", pa.int64(): "BIGINT", pa.timestamp("us"): "TIMESTAMP"}
_BIGQUERY_TYPES = {pa.string(): "STRING", pa.int64(): "INT64", pa.timestamp("us"): "DATETIME"}


def _columns_added(context: OutputContext, table: str, added: list[str]) -> dict[str, Any]:
    """Say which columns a load added to its table: a log line and the metadata."""
    if not added:
        return {}
    context.log.info(
        f"Added column(s) {', '.join(added)} to {table} (new in the contract): null in the "
        "rows loaded before, until their days run again (their landing files are re-read)."
    )
    return {"columns_added": MetadataValue.json(added)}


class _WriteOnlyHandler(DbTypeHandler[ParquetBatches]):
    @property
    def supported_types(self) -> Sequence[type]:
        return [ParquetBatches]

    def load_input(self, context: InputContext, table_slice: TableSlice, connection) -> Any:
        raise TypeError(
            f"{table_slice.schema}.{table_slice.table} is written as ParquetBatches and read "
            "by dbt; load it as a pandas DataFrame instead"
        )


class DuckDBParquetBatchesHandler(_WriteOnlyHandler):
    def handle_output(
        self, context: OutputContext, table_slice: TableSlice, obj: ParquetBatches, connection
    ) -> None:
        table = f"{table_slice.schema}.{table_slice.table}"
        exists = _duckdb_table_exists(connection, table_slice)
        added = _add_duckdb_columns(connection, table_slice, obj.schema) if exists else []
        if not obj.paths:
            context.log.info("No rows in the window.")
            if not exists:
                # The contract's columns, no rows: dbt reads every raw table.
                connection.register("empty_window", obj.schema.empty_table())
                connection.execute(f"CREATE TABLE {table} AS SELECT * FROM empty_window")
                connection.unregister("empty_window")
        else:
            files = [str(path) for path in obj.paths]
            load = f"INSERT INTO {table} BY NAME" if exists else f"CREATE TABLE {table} AS"
            connection.execute(f"{load} SELECT * FROM read_parquet(?)", [files])
        context.add_output_metadata(
            {**_row_count(context, obj.rows, "duckdb"), **_columns_added(context, table, added)}
        )


def _add_duckdb_columns(connection, table_slice: TableSlice, schema: pa.Schema) -> list[str]:
    """Add the ``schema``'s columns the table lacks (in the load's transaction, so a load
    that fails adds none); refuse a table holding columns the schema lacks."""
    table = f"{table_slice.schema}.{table_slice.table}"
    held = [
        name
        for (name,) in connection.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [table_slice.schema, table_slice.table],
        ).fetchall()
    ]
    added = columns_to_add(table, held, schema.names)
    for name in added:
        # Names from the contract (checked identifiers), quoted: no SQL from file content.
        connection.execute(
            f"ALTER TABLE {quoted_table(table)} ADD COLUMN {quoted_column(name)} "
            f"{_DUCKDB_TYPES[schema.field(name).type]}"
        )
    return added


def _duckdb_table_exists(connection, table_slice: TableSlice) -> bool:
    return bool(
        connection.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = ? AND table_name = ?",
            [table_slice.schema, table_slice.table],
        ).fetchall()[0][0]
    )


class BigQueryParquetBatchesHandler(_WriteOnlyHandler):
    def handle_output(
        self, context: OutputContext, table_slice: TableSlice, obj: ParquetBatches, connection
    ) -> None:
        from google.cloud import bigquery

        table_id = f"{table_slice.database}.{table_slice.schema}.{table_slice.table}"
        resource = context.resource_config or {}
        columns, added = _add_bigquery_columns(
            connection, table_id, obj.schema, resource.get("location")
        )
        if not obj.paths:
            # The table exists: the raw asset creates it (prepare_partitioned_table).
            context.log.info("No rows in the window.")
        else:
            config = bigquery.LoadJobConfig(
                source_format=bigquery.SourceFormat.PARQUET,
                write_disposition=bigquery.WriteDisposition.WRITE_APPEND,
            )
            with tempfile.TemporaryDirectory(prefix="bigquery-load-") as folder:
                # One load job per window (BigQuery limits load jobs per table and day).
                path = _one_file(obj, Path(folder) / "window.parquet", columns)
                with open(path, "rb") as file:
                    connection.load_table_from_file(
                        file,
                        table_id,
                        job_config=config,
                        location=resource.get("location"),
                        timeout=resource.get("timeout"),
                    ).result()
        rows = _row_count(context, obj.rows, "bigquery")
        context.add_output_metadata({**rows, **_columns_added(context, table_id, added)})


def _add_bigquery_columns(
    client, table_id: str, schema: pa.Schema, location: str | None
) -> tuple[list[str], list[str]]:
    """Add the ``schema``'s columns the table lacks (nullable) before the load; refuse a
    table holding columns the schema lacks (the raw asset refuses it first, before the
    window is deleted: ``prepare_partitioned_table``). Returns the table's columns in its
    order (an added column comes last) and the added ones.

    A DDL statement per column rather than a schema update through the client or
    ``ALLOW_FIELD_ADDITION`` on the load job: all three add the column on BigQuery, but
    bqemulator applies only the DDL to the table it loads into (docs/contract.md, "Changing
    the contract"), so only the DDL is tested."""
    held = [field.name for field in client.get_table(table_id).schema]
    added = columns_to_add(table_id, held, schema.names)
    quoted_table(table_id)  # refuses anything but a table name
    for name in added:
        # Names from the contract (checked identifiers): no SQL from file content.
        client.query(
            f"ALTER TABLE `{table_id}` ADD COLUMN IF NOT EXISTS "
            f"`{checked_column_name(name)}` {_BIGQUERY_TYPES[schema.field(name).type]}",
            location=location,
        ).result()
    return [*held, *added], added


def _one_file(batches: ParquetBatches, destination: Path, columns: list[str]) -> Path:
    """The batches as one Parquet file, copied a row group at a time, its columns in the
    table's order (``columns``): bqemulator loads a file by position, not by name."""
    if len(batches.paths) == 1 and batches.schema.names == columns:
        return batches.paths[0]
    schema = pa.schema([batches.schema.field(name) for name in columns])
    with pq.ParquetWriter(destination, schema, compression="zstd") as writer:
        for path in batches.paths:
            source = pq.ParquetFile(path)
            for group in range(source.num_row_groups):
                writer.write_table(source.read_row_group(group).select(columns))
    return destination


class _DuckDBClient(DuckDbClient):
    """dagster-duckdb's client, but one transaction per output and no blind retries."""

    @staticmethod
    def delete_table_slice(context: OutputContext, table_slice: TableSlice, connection) -> None:
        # dagster-duckdb swallows the CatalogException of a missing table; inside a
        # transaction that error would abort the transaction, so look first.
        if _duckdb_table_exists(connection, table_slice):
            DuckDbClient.delete_table_slice(context, table_slice, connection)

    @staticmethod
    @contextmanager
    def connect(context, _) -> Iterator[Any]:
        config = {"custom_user_agent": "dagster", **context.resource_config["connection_config"]}
        connection = duckdb_lock.connect(context.resource_config["database"], config)
        try:
            connection.begin()
            try:
                yield connection
            except BaseException:
                connection.rollback()
                raise
            connection.commit()
        finally:
            connection.close()


class _LockAwareDbIOManager(DbIOManager):
    """A lock held by another process on the DuckDB file retries the step."""

    def handle_output(self, context: OutputContext, obj: object) -> None:
        with duckdb_lock.retry_when_locked(context):
            super().handle_output(context, obj)

    def load_input(self, context: InputContext) -> object:
        with duckdb_lock.retry_when_locked(context):
            return super().load_input(context)


class DuckDBWarehouseIOManager(DuckDBPandasIOManager):
    """DuckDB: pandas DataFrames (churn scores) and ParquetBatches (raw)."""

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        return [DuckDBPandasTypeHandler(), DuckDBParquetBatchesHandler()]

    def create_io_manager(self, context) -> DbIOManager:
        return _LockAwareDbIOManager(
            db_client=_DuckDBClient(),
            database=self.database,
            schema=self.schema_,
            type_handlers=self.type_handlers(),
            default_load_type=self.default_load_type(),
            io_manager_name="DuckDBIOManager",
        )


class BigQueryWarehouseIOManager(BigQueryPandasIOManager):
    """BigQuery: pandas DataFrames (churn scores) and ParquetBatches (raw)."""

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        return [BigQueryPandasTypeHandler(), BigQueryParquetBatchesHandler()]
