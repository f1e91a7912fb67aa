"""The warehouse as the Python assets and checks see it: DuckDB file or BigQuery.

Rows are written by the IO manager (raw, churn scores) and dbt (everything else); this
resource reads (row counts for asset metadata, the small queries of the checks, the churn
model's training set) and lays out raw tables before their first load
(``prepare_partitioned_table``, which on BigQuery also refuses, before the window is
deleted, a raw table holding a column the contract no longer lists: ``columns_to_add``).
It opens a connection per call and closes it, so it never holds DuckDB's file lock while
a dbt process needs it. A DuckDB file locked by another process raises
``DuckDBLockConflict`` (``lib/duckdb_lock.py``), which a step wrapped in
``retry_when_locked`` turns into a retry; other errors are not retried.
"""

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from typing import Any

import dagster as dg
import pandas as pd
from pydantic import Field

from retail_platform.lib.gcp_credentials import BigQueryClientResource

_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*){1,2}$")
#: A dataset (schema), optionally ``project.dataset``.
_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)?$")


_COLUMN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _checked_column(name: str) -> str:
    if not _COLUMN_NAME.match(name):
        raise ValueError(f"not a column name: {name!r}")
    return name


def checked_column_name(name: str) -> str:
    """``name`` if it is a plain column name (letters, digits, underscores), else an error."""
    return _checked_column(name)


def quoted_column(name: str) -> str:
    """A column name, validated and quoted for DuckDB."""
    return f'"{_checked_column(name)}"'


class ColumnsNotInContract(ValueError):
    """A table holds columns that the columns it is laid out with no longer list."""


def columns_to_add(table: str, held: Sequence[str], expected: Sequence[str]) -> list[str]:
    """The ``expected`` columns that ``table``, holding ``held``, lacks, in expected order:
    columns new in the contract, which a load adds (null in the rows already there).

    A column the table holds and ``expected`` lacks raises :class:`ColumnsNotInContract`:
    a load never drops a column (its data) because the contract no longer lists it, nor
    leaves it null in new rows without a word; removing one is a migration
    (docs/contract.md, "Changing the contract")."""
    wanted = {name.lower() for name in expected}
    dropped = [name for name in held if name.lower() not in wanted]
    if dropped:
        raise ColumnsNotInContract(
            f"{table} holds column(s) {', '.join(dropped)} that the contract "
            "(retail_platform/contract.toml) no longer lists: nothing was written. A load adds "
            "the contract's new columns but never drops one. Put the column back in the "
            "contract (then `make contract`), or remove it on purpose: drop it from "
            f"{table}, then run one full refresh of the dbt models (docs/contract.md, "
            '"Changing the contract").'
        )
    present = {name.lower() for name in held}
    return [name for name in expected if name.lower() not in present]


def _day_bounds(days: Iterable[dt.date]) -> tuple[set[dt.date], dt.datetime, dt.datetime]:
    wanted = set(days)
    first, last = min(wanted), max(wanted)
    start = dt.datetime(first.year, first.month, first.day)
    return wanted, start, dt.datetime(last.year, last.month, last.day) + dt.timedelta(days=1)


def quoted_table(name: str) -> str:
    """``schema.table`` (or ``db.schema.table``) from config or dbt, validated and quoted."""
    if not _TABLE_NAME.match(name):
        raise ValueError(f"not a table name: {name!r}")
    return ".".join(f'"{part}"' for part in name.split("."))


class Warehouse(dg.ConfigurableResource):
    """What the checks need from the warehouse; one implementation per target."""

    def query(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple]:
        raise NotImplementedError

    def row_count(self, table: str) -> int | None:
        """Rows of a table; None for a view (counting it would run its whole query)."""
        raise NotImplementedError

    def relations_in(self, schema: str) -> frozenset[str]:
        """Names of the tables and views of ``schema`` (none when the schema does not exist
        yet), in one query: which of many relations exist, e.g. the marts the dashboard
        reads (a mart built once a day may not be there yet on a new warehouse)."""
        raise NotImplementedError

    def relation_exists(self, relation: str) -> bool:
        """Whether ``schema.name`` (or ``database.schema.name``) is a table or view of the
        warehouse."""
        quoted_table(relation)
        schema, name = relation.split(".")[-2:]
        return name in self.relations_in(schema)

    def rows_if_exists(self, relation: str, columns: Sequence[str]) -> pd.DataFrame | None:
        """``columns`` of every row of ``relation`` (names lower case, as the BigQuery IO
        manager's upper-case columns come back otherwise); None while it does not exist."""
        if not self.relation_exists(relation):
            return None
        rows = self.frame(f"SELECT {', '.join(columns)} FROM {relation}")  # validated above
        rows.columns = [str(c).lower() for c in rows.columns]
        return rows

    def row_counts(self, tables: Sequence[str]) -> dict[str, int | None]:
        return {table: self.row_count(table) for table in tables}

    def rows_by_day(
        self, tables: Sequence[str], day_column: str, start: dt.date, end: dt.date
    ) -> dict[str, dict[dt.date, int]]:
        """Rows per day of [start, end) in each table, by its DATE column ``day_column``
        (days without rows left out): what a day-partitioned table holds for those days.
        The bounds are query parameters on the bare column, so BigQuery reads only those
        partitions (and accepts the query on a table that requires a partition filter)."""
        raise NotImplementedError

    def frame(self, sql: str, parameters: Sequence[Any] = ()) -> pd.DataFrame:
        """A query's result as a DataFrame (small results: model training sets, scores)."""
        raise NotImplementedError

    def prepare_partitioned_table(
        self,
        table: str,
        columns: dict[str, str],
        partition_column: str,
        cluster_by: Sequence[str] = (),
    ) -> None:
        """Create ``schema.table`` partitioned by day on ``partition_column`` if it does not
        exist yet. ``columns``: name -> string | integer | datetime. An existing table that
        holds a column ``columns`` lacks raises :class:`ColumnsNotInContract` (before the IO
        manager deletes the window); the IO manager adds the columns it lacks."""
        raise NotImplementedError

    def partition_row_counts(
        self, table: str, partition_column: str, days: Iterable[dt.date]
    ) -> dict[dt.date, int]:
        """Rows per day of ``days`` in ``schema.table`` (days without rows left out; a
        table that does not exist holds none). One query over the days' span, scanning
        only ``partition_column`` (on BigQuery, only the span's partitions)."""
        raise NotImplementedError


class DuckDBWarehouse(Warehouse):
    database: str = Field(description="Path of the DuckDB file.")
    memory_limit: str | None = Field(
        default=None, description="DuckDB memory_limit, e.g. 3GB (None: DuckDB's default)."
    )

    def _connect(self):
        from retail_platform.lib.duckdb_lock import connect

        config = {"memory_limit": self.memory_limit} if self.memory_limit else {}
        return connect(self.database, config=config)

    def query(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple]:
        with self._connect() as connection:
            return connection.execute(sql, list(parameters)).fetchall()

    def frame(self, sql: str, parameters: Sequence[Any] = ()) -> pd.DataFrame:
        with self._connect() as connection:
            return connection.execute(sql, list(parameters)).df()

    def prepare_partitioned_table(
        self,
        table: str,
        columns: dict[str, str],
        partition_column: str,
        cluster_by: Sequence[str] = (),
    ) -> None:
        """Nothing to do: DuckDB has no table partitions; the IO manager creates the table,
        and compares an existing one with the columns in the transaction of its load."""

    def partition_row_counts(
        self, table: str, partition_column: str, days: Iterable[dt.date]
    ) -> dict[dt.date, int]:
        wanted, start, end = _day_bounds(days)
        schema, name = table.split(".")[-2:]
        column = f'"{_checked_column(partition_column)}"'
        with self._connect() as connection:
            exists = connection.execute(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema = ? AND table_name = ?",
                [schema, name],
            ).fetchall()[0][0]
            if not exists:
                return {}
            rows = connection.execute(
                f"SELECT CAST({column} AS DATE), count(*) FROM {quoted_table(f'{schema}.{name}')} "
                f"WHERE {column} >= ? AND {column} < ? GROUP BY 1",
                [start, end],
            ).fetchall()
        return {day: int(n) for day, n in rows if day in wanted}

    def relations_in(self, schema: str) -> frozenset[str]:
        rows = self.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ?", [schema]
        )
        return frozenset(name for (name,) in rows)

    def row_count(self, table: str) -> int | None:
        return self.row_counts([table])[table]

    def rows_by_day(
        self, tables: Sequence[str], day_column: str, start: dt.date, end: dt.date
    ) -> dict[str, dict[dt.date, int]]:
        column = f'"{_checked_column(day_column)}"'
        result: dict[str, dict[dt.date, int]] = {}
        with self._connect() as connection:  # one connection: opening the file is the slow part
            for table in tables:
                schema, name = table.split(".")[-2:]  # dbt names relations database.schema.table
                rows = connection.execute(
                    f"SELECT {column}, count(*) FROM {quoted_table(f'{schema}.{name}')} "
                    f"WHERE {column} >= ? AND {column} < ? GROUP BY 1",
                    [start, end],
                ).fetchall()
                result[table] = {day: int(n) for day, n in rows}
        return result

    def row_counts(self, tables: Sequence[str]) -> dict[str, int | None]:
        """One connection for all of them: opening the file is the slow part."""
        counts: dict[str, int | None] = {}
        with self._connect() as connection:
            for table in tables:
                # dbt names DuckDB relations database.schema.table
                schema, name = table.split(".")[-2:]
                kind = connection.execute(
                    "SELECT table_type FROM information_schema.tables "
                    "WHERE table_schema = ? AND table_name = ?",
                    [schema, name],
                ).fetchone()
                if kind and kind[0] == "VIEW":
                    counts[table] = None
                    continue
                sql = f"SELECT count(*) FROM {quoted_table(f'{schema}.{name}')}"
                counts[table] = int(connection.execute(sql).fetchone()[0])
        return counts


class BigQueryWarehouse(Warehouse, BigQueryClientResource):
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

    def prepare_partitioned_table(
        self,
        table: str,
        columns: dict[str, str],
        partition_column: str,
        cluster_by: Sequence[str] = (),
    ) -> None:
        """Create the table partitioned and clustered before the IO manager's first load,
        which would create it unpartitioned (dagster-io/dagster#15975). Lower-case column
        names: the IO manager upper-cases its frame's columns (dagster-io/dagster#14129);
        BigQuery matches them to these case-insensitively, so what lands reads as here."""
        from google.api_core.exceptions import NotFound
        from google.cloud import bigquery

        quoted_table(table)
        client = self._client()
        dataset = bigquery.Dataset(f"{self.project}.{table.split('.')[-2]}")
        if self.location:  # else the project's default location
            dataset.location = self.location
        # Looked up first: create_dataset(exists_ok=True) asks for bigquery.datasets.create
        # on the project even when the dataset exists, which the pipeline's account does
        # not have where the datasets are made ahead (deploy/terraform).
        try:
            client.get_dataset(dataset.reference)
        except NotFound:
            client.create_dataset(dataset, exists_ok=True)
        spec = bigquery.Table(
            f"{self.project}.{table}" if table.count(".") == 1 else table,
            schema=[
                bigquery.SchemaField(name, _BQ_COLUMN_TYPES[kind]) for name, kind in columns.items()
            ],
        )
        spec.time_partitioning = bigquery.TimePartitioning(
            type_=bigquery.TimePartitioningType.DAY, field=partition_column
        )
        if cluster_by:
            spec.clustering_fields = list(cluster_by)
        try:
            existing = client.get_table(spec.reference)
        except NotFound:
            client.create_table(spec, exists_ok=True)
        else:
            # Refused here, before the IO manager deletes the window: BigQuery has no
            # transaction to undo that delete (the IO manager adds the new columns).
            columns_to_add(table, [field.name for field in existing.schema], list(columns))

    def partition_row_counts(
        self, table: str, partition_column: str, days: Iterable[dt.date]
    ) -> dict[dt.date, int]:
        from google.api_core.exceptions import NotFound

        wanted, start, end = _day_bounds(days)
        quoted_table(table)
        name = ".".join(table.split(".")[-2:])
        column = f"`{_checked_column(partition_column)}`"
        try:
            self._client().get_table(name)
        except NotFound:
            return {}
        # Bounds on the bare partitioning column as parameters: only those partitions
        # are scanned (and require_partition_filter is satisfied).
        rows = self.query(
            f"SELECT DATE({column}), count(*) FROM `{name}` "
            f"WHERE {column} >= ? AND {column} < ? GROUP BY 1",
            [start, end],
        )
        return {day: int(n) for day, n in rows if day in wanted}

    def rows_by_day(
        self, tables: Sequence[str], day_column: str, start: dt.date, end: dt.date
    ) -> dict[str, dict[dt.date, int]]:
        if not tables:
            return {}
        column = f"`{_checked_column(day_column)}`"
        selects, parameters = [], []
        for index, table in enumerate(tables):
            quoted_table(table)  # refuses anything but a table name
            name = ".".join(table.split(".")[-2:])  # dataset.table in the client's project
            selects.append(
                f"SELECT {index} AS table_index, {column} AS day, count(*) AS day_rows "
                f"FROM `{name}` WHERE {column} >= ? AND {column} < ? GROUP BY day"
            )
            parameters += [start, end]
        # One job for every table: a job costs a round trip and BigQuery's minimum bytes.
        result: dict[str, dict[dt.date, int]] = {table: {} for table in tables}
        for index, day, rows in self.query(" UNION ALL ".join(selects), parameters):
            result[tables[index]][day] = int(rows)
        return result

    def relations_in(self, schema: str) -> frozenset[str]:
        """One tables.list request for a dataset of up to LIST_PAGE_SIZE tables (a page
        that size is asked for; a larger dataset takes one request per page)."""
        from google.api_core.exceptions import NotFound

        if not _SCHEMA_NAME.match(schema):
            raise ValueError(f"not a schema name: {schema!r}")
        try:
            tables = list(self._client().list_tables(schema, page_size=LIST_PAGE_SIZE))
        except NotFound:  # the dataset does not exist yet
            return frozenset()
        return frozenset(table.table_id for table in tables)

    def row_count(self, table: str) -> int | None:
        # Table metadata, not a scan: free, and allowed on require_partition_filter tables.
        # dataset.table in the client's project: dbt's relation names carry the project
        # (or, from a manifest parsed for the local target, DuckDB's database name).
        quoted_table(table)
        found = self._client().get_table(".".join(table.split(".")[-2:]))
        return None if found.table_type == "VIEW" else int(found.num_rows or 0)


#: Tables asked for per page of ``relations_in``'s tables.list requests.
LIST_PAGE_SIZE = 1000

_BQ_COLUMN_TYPES = {"string": "STRING", "integer": "INT64", "datetime": "DATETIME"}


def _bq_type(value: Any) -> str:
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        return "INT64"
    if isinstance(value, float):
        return "FLOAT64"
    if isinstance(value, dt.datetime):  # before date: a datetime is a date
        return "TIMESTAMP" if value.tzinfo else "DATETIME"
    if isinstance(value, dt.date):
        return "DATE"
    return "STRING"
