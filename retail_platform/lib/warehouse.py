"""Read access to the warehouse for checks and metadata: DuckDB file or BigQuery.

Writes go through the IO manager (raw) and dbt (everything else); this resource only
reads: row counts for asset metadata and the small queries of the Python checks. It
opens a connection per call and closes it, so it never holds DuckDB's file lock while
a dbt process needs it.
"""

import re
from collections.abc import Sequence
from typing import Any

import dagster as dg
import pandas as pd
from pydantic import Field

_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*){1,2}$")


def quoted_table(name: str) -> str:
    """``schema.table`` (or ``db.schema.table``) from config or dbt, validated and quoted."""
    if not _TABLE_NAME.match(name):
        raise ValueError(f"not a table name: {name!r}")
    return ".".join(f'"{part}"' for part in name.split("."))


class Warehouse(dg.ConfigurableResource):
    """What the checks need from the warehouse; one implementation per target."""

    def query(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple]:
        raise NotImplementedError

    def row_count(self, table: str) -> int:
        raise NotImplementedError

    def frame(self, sql: str, parameters: Sequence[Any] = ()) -> pd.DataFrame:
        """A query's result as a DataFrame (small results: model training sets, scores)."""
        raise NotImplementedError


class DuckDBWarehouse(Warehouse):
    database: str = Field(description="Path of the DuckDB file.")

    def query(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple]:
        import duckdb

        with duckdb.connect(self.database) as connection:
            return connection.execute(sql, list(parameters)).fetchall()

    def frame(self, sql: str, parameters: Sequence[Any] = ()) -> pd.DataFrame:
        import duckdb

        with duckdb.connect(self.database) as connection:
            return connection.execute(sql, list(parameters)).df()

    def row_count(self, table: str) -> int:
        parts = table.split(".")
        if len(parts) == 3:  # dbt names DuckDB relations database.schema.table
            table = ".".join(parts[1:])
        return int(self.query(f"SELECT count(*) FROM {quoted_table(table)}")[0][0])


class BigQueryWarehouse(Warehouse):
    project: str = Field(description="GCP project that runs the queries.")
    location: str | None = Field(default=None)

    def _client(self):
        from google.cloud import bigquery

        return bigquery.Client(project=self.project, location=self.location)

    def _job(self, sql: str, parameters: Sequence[Any]):
        from google.cloud import bigquery

        config = bigquery.QueryJobConfig(
            query_parameters=[
                bigquery.ScalarQueryParameter(None, _bq_type(p), p) for p in parameters
            ]
        )
        return self._client().query(sql, job_config=config)

    def query(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple]:
        return [tuple(row.values()) for row in self._job(sql, parameters).result()]

    def frame(self, sql: str, parameters: Sequence[Any] = ()) -> pd.DataFrame:
        return self._job(sql, parameters).to_dataframe()

    def row_count(self, table: str) -> int:
        # Table metadata, not a scan: free, and allowed on require_partition_filter tables.
        quoted_table(table)
        return int(self._client().get_table(table).num_rows or 0)


def _bq_type(value: Any) -> str:
    import datetime

    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        return "INT64"
    if isinstance(value, float):
        return "FLOAT64"
    if isinstance(value, datetime.date):
        return "DATE"
    return "STRING"
