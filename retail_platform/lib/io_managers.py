"""The IO managers of the two targets: dagster's pandas IO managers for DuckDB and
BigQuery, plus a type handler each for :class:`ParquetBatches`, the raw layer's output.

A raw asset stages its window as one Parquet file per day (``lib/raw_batches.py``); the
IO manager deletes the window's rows as usual (the partition filter of dagster-duckdb /
dagster-gcp) and then loads the files in bulk: DuckDB reads them with ``read_parquet``,
BigQuery takes them in one load job. Neither holds the window in memory as a DataFrame,
and no column is renamed on the way (the pandas handler upper-cases BigQuery columns,
dagster-io/dagster#14129).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from dagster import InputContext, OutputContext
from dagster._core.definitions.metadata import TableMetadataSet
from dagster._core.storage.db_io_manager import DbTypeHandler, TableSlice
from dagster_duckdb_pandas import DuckDBPandasIOManager, DuckDBPandasTypeHandler
from dagster_gcp_pandas import BigQueryPandasIOManager, BigQueryPandasTypeHandler

from retail_platform.lib.raw_batches import ParquetBatches


def _row_count(context: OutputContext, rows: int, storage_kind: str) -> dict[str, Any]:
    return dict(
        TableMetadataSet(partition_row_count=rows, storage_kind=storage_kind)
        if context.has_partition_key
        else TableMetadataSet(row_count=rows, storage_kind=storage_kind)
    )


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
        if not obj.paths:
            context.log.warning("No rows in the window: nothing written, no table created.")
        else:
            table = f"{table_slice.schema}.{table_slice.table}"
            files = [str(path) for path in obj.paths]
            exists = connection.execute(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema = ? AND table_name = ?",
                [table_slice.schema, table_slice.table],
            ).fetchone()[0]
            if exists:
                connection.execute(
                    f"INSERT INTO {table} BY NAME SELECT * FROM read_parquet(?)", [files]
                )
            else:
                connection.execute(
                    f"CREATE TABLE {table} AS SELECT * FROM read_parquet(?)", [files]
                )
        context.add_output_metadata(_row_count(context, obj.rows, "duckdb"))


class BigQueryParquetBatchesHandler(_WriteOnlyHandler):
    def handle_output(
        self, context: OutputContext, table_slice: TableSlice, obj: ParquetBatches, connection
    ) -> None:
        from google.cloud import bigquery

        if not obj.paths:
            context.log.warning("No rows in the window: nothing written, no table created.")
        else:
            config = bigquery.LoadJobConfig(
                source_format=bigquery.SourceFormat.PARQUET,
                write_disposition=bigquery.WriteDisposition.WRITE_APPEND,
            )
            resource = context.resource_config or {}
            with tempfile.TemporaryDirectory(prefix="bigquery-load-") as folder:
                # One load job per window (BigQuery limits load jobs per table and day).
                path = _one_file(obj, Path(folder) / "window.parquet")
                with open(path, "rb") as file:
                    connection.load_table_from_file(
                        file,
                        f"{table_slice.database}.{table_slice.schema}.{table_slice.table}",
                        job_config=config,
                        location=resource.get("location"),
                        timeout=resource.get("timeout"),
                    ).result()
        context.add_output_metadata(_row_count(context, obj.rows, "bigquery"))


def _one_file(batches: ParquetBatches, destination: Path) -> Path:
    """The batches as one Parquet file, copied a row group at a time."""
    if len(batches.paths) == 1:
        return batches.paths[0]
    with pq.ParquetWriter(destination, batches.schema, compression="zstd") as writer:
        for path in batches.paths:
            source = pq.ParquetFile(path)
            for group in range(source.num_row_groups):
                writer.write_table(source.read_row_group(group))
    return destination


class DuckDBWarehouseIOManager(DuckDBPandasIOManager):
    """DuckDB: pandas DataFrames (churn scores) and ParquetBatches (raw)."""

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        return [DuckDBPandasTypeHandler(), DuckDBParquetBatchesHandler()]


class BigQueryWarehouseIOManager(BigQueryPandasIOManager):
    """BigQuery: pandas DataFrames (churn scores) and ParquetBatches (raw)."""

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        return [BigQueryPandasTypeHandler(), BigQueryParquetBatchesHandler()]
