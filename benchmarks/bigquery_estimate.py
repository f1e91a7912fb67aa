"""Estimate the bytes a daily run scans on BigQuery (on-demand billing), from its own SQL.

    python -m benchmarks.bigquery_estimate --database data/bench/backfill-365x30000/warehouse.duckdb
    python -m benchmarks.bigquery_estimate --database ... --statements data/bench/bq.json  # keep

An estimate, not a measurement: no BigQuery project is involved. Two inputs:

* **The statements**, captured: the platform runs on ``RETAIL_TARGET=bigquery`` against the
  test suite's emulators (bqemulator for BigQuery, fake-gcs-server for the landing bucket)
  with a tiny simulation: ``full_backfill`` over 3 days, then one new day landed, one tick
  of the landing sensor, the ``daily_pipeline`` run it asks for, and the daily
  ``churn_scoring`` run. Every query job of those two runs is listed from the emulator's
  job history: the SQL dbt-bigquery and the Python assets really sent (dbt's
  ``insert_overwrite`` and ``merge`` statements, tests, reconciliation checks, dashboard
  queries), plus each table's partitioning and each view's definition.
* **How big the columns are**: BigQuery's logical sizes (STRING 2 + UTF-8 bytes, INT64 /
  FLOAT64 / DATE / DATETIME / TIMESTAMP 8, NUMERIC 16, BOOL 1, ARRAY/STRUCT the sum of
  their leaves, NULL 0) over the rows of a warehouse that ``bench_backfill.py`` loaded on
  DuckDB (same tables, same columns), for a warehouse holding H days (rows dated before
  day H) and for one day (the mean of the 7 days before H).

Each statement is parsed (sqlglot, BigQuery dialect). Per table it reads: the columns it
names (all of them under ``*``), and the days its filter on the table's partitioning
column keeps (literal bounds: the run's day, a trailing window, or everything; a query
parameter bound is the run's window, as the checks pass it). A view read is its query's
reads; a second variant pushes a filter on the view's transaction_date into them, printed
when it differs (whether BigQuery manages that depends on the view). DML adds what
BigQuery bills for the table it changes (``MERGE`` with a delete or update clause and
``DELETE``: every column of the partitions changed, of the whole table when
unpartitioned; counted as if the day were already there, i.e. a re-run's cost).
dbt's ``__dbt_tmp`` tables are sized as a day of their model. On-demand billing counts at
least 10 MB per table referenced and per query. Load jobs (raw) and metadata reads are
free and not counted.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import shutil
import sys
import tempfile
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

MB = 10**6
MIN_BYTES = 10 * MB  # per table referenced, and per query
USD_PER_TIB = 6.25  # on-demand list price, US multi-region, at the time of writing

CAPTURE_START = date(2025, 1, 1)
CAPTURE_HISTORY = 3  # days backfilled before the captured daily run (the least churn trains on)
CAPTURE_ORDERS_PER_DAY = 60
RUN_DAY = CAPTURE_START + timedelta(days=CAPTURE_HISTORY)  # the captured daily run's day
CAPTURED_JOBS = ("daily_pipeline", "churn_scoring")
DATASETS = ("retail_raw", "retail_silver", "retail_gold", "retail_marts", "retail_ml")
TMP_SUFFIX = re.compile(r"__dbt_tmp\d*$")
NODE = re.compile(r'"node_id": "(\w+)\.[\w]+\.([\w]+)')
STAR = ("*",)


# --- capture -------------------------------------------------------------------------------


def capture() -> dict[str, Any]:
    """The statements of a daily run and a churn scoring run on the BigQuery target."""
    from retail_platform_tests.helpers.bqemulator import BigQueryEmulator
    from retail_platform_tests.helpers.emulators import FakeGCS

    bigquery, gcs = BigQueryEmulator(), FakeGCS()
    saved = dict(os.environ)
    scratch = tempfile.mkdtemp(prefix="bigquery-estimate-")
    try:
        zone = _landing_zone(gcs, bigquery.project)
        os.environ.update(_bigquery_target_environment(bigquery, zone.bucket, scratch))
        return _captured_runs(bigquery.client(), zone)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        bigquery.stop()
        gcs.stop()
        shutil.rmtree(scratch, ignore_errors=True)


def _landing_zone(gcs, project: str):
    from retail_platform.lib.landing_zone import GCSLandingZone

    bucket = f"landing-{uuid.uuid4().hex[:12]}"
    gcs.client().create_bucket(bucket)
    return GCSLandingZone(bucket=bucket, prefix="landing", project=project)


def _bigquery_target_environment(bigquery, bucket: str, scratch: str) -> dict[str, str]:
    return {
        **bigquery.env(),
        "GCP_PROJECT": bigquery.project,
        "RETAIL_TARGET": "bigquery",
        "RETAIL_CHURN_ENGINE": "sklearn",  # the emulator has no ML.PREDICT
        "RETAIL_LANDING_BUCKET": bucket,
        "RETAIL_LANDING_PREFIX": "landing",
        "RETAIL_MODEL_DIR": f"{scratch}/models",
        "RETAIL_DASHBOARD_DIR": f"{scratch}/dashboard",
        "RETAIL_CHURN_LABEL_DAYS": "1",  # 3 days of history still train a model
    }


def _succeeded(result, what: str) -> None:
    if not result.success:
        raise RuntimeError(f"{what} failed on the emulators")


def _captured_runs(client, zone) -> dict[str, Any]:
    """Backfill the history, land a new day; then the runs of that day, their statements."""
    import dagster as dg

    from retail_platform.defs.transforms.project import ensure_manifest

    # The bigquery target's manifest: importing the definitions never parses the dbt project.
    ensure_manifest()
    from retail_platform.definitions import build_definitions
    from retail_platform.lib.simulator import SimulationConfig, simulate
    from retail_platform.lib.targets import current_target

    config = SimulationConfig(seed=7, orders_per_day=CAPTURE_ORDERS_PER_DAY)
    simulate(zone, config, start=CAPTURE_START, days=CAPTURE_HISTORY)
    defs = build_definitions(current_target())
    sensor = defs.resolve_sensor_def("landing_sensor")
    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_sensor_context(instance=instance, resources={"landing_zone": zone})
        sensor(context)  # the history's files seen: the next tick asks for the new day only
        cursor = context.cursor
        last = CAPTURE_START + timedelta(days=CAPTURE_HISTORY - 1)
        history = defs.resolve_job_def("full_backfill").execute_in_process(
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": CAPTURE_START.isoformat(),
                "dagster/asset_partition_range_end": last.isoformat(),
            },
            run_config={"ops": {"ml__churn_model": {"config": {"auc_floor": 0.0}}}},
        )
        _succeeded(history, "the history's backfill")
        simulate(zone, config, start=RUN_DAY, days=1)
        context = dg.build_sensor_context(
            instance=instance, resources={"landing_zone": zone}, cursor=cursor
        )
        requests = sensor(context).run_requests
        if [r.partition_key for r in requests] != [RUN_DAY.isoformat()]:
            raise RuntimeError(f"the sensor asked for {requests}, not {RUN_DAY} alone")
        request = requests[0]
        runs = {
            "daily_pipeline": lambda: defs.resolve_job_def("daily_pipeline").execute_in_process(
                instance=instance,
                partition_key=request.partition_key,
                asset_selection=list(request.asset_selection),
                tags=request.tags,
            ),
            "churn_scoring": lambda: defs.resolve_job_def("churn_scoring").execute_in_process(
                instance=instance
            ),
        }
        seen = {job.job_id for job in client.list_jobs(max_results=10**6)}
        statements: list[dict[str, str]] = []
        for name in CAPTURED_JOBS:
            _succeeded(runs[name](), name)
            jobs = [j for j in client.list_jobs(max_results=10**6) if j.job_id not in seen]
            seen |= {job.job_id for job in jobs}
            queries = sorted((j for j in jobs if j.job_type == "query"), key=_created)
            statements += [{"run": name, "sql": job.query} for job in queries]
    return {"statements": statements, "tables": _tables(client)}


def _created(job) -> datetime:
    return job.created


def _tables(client) -> dict[str, dict[str, Any]]:
    """dataset.table -> partitioning column and, for a view, its query (from the job
    history's CREATE VIEW statements: the emulator does not return a view's query)."""
    tables = {}
    for dataset in DATASETS:
        for item in client.list_tables(dataset):
            table = client.get_table(item.reference)
            partitioning = table.time_partitioning
            tables[f"{dataset}.{table.table_id}"] = {
                "partition": partitioning.field if partitioning else None,
                "view": None,
            }
    for job in sorted(client.list_jobs(max_results=10**6), key=_created):
        for name, query in _view_definitions(getattr(job, "query", None) or ""):
            tables.setdefault(name, {"partition": None})["view"] = query
    return tables


def _view_definitions(sql: str) -> list[tuple[str, str]]:
    import sqlglot.expressions as exp

    if "view" not in sql.lower():
        return []
    views = []
    for statement in _parsed(sql):
        if isinstance(statement, exp.Create) and statement.kind == "VIEW":
            name = _name(statement.this.find(exp.Table))
            if name:
                views.append((name, statement.expression.sql(dialect="bigquery")))
    return views


# --- what a statement reads ----------------------------------------------------------------


@dataclass(frozen=True)
class Read:
    table: str  # dataset.table of the DuckDB warehouse that sizes it
    columns: tuple[str, ...]  # STAR: every column
    days: int | None  # None: every day; else the trailing days up to the run's day


def _name(table) -> str | None:
    dataset = table.args.get("db")
    name = f"{dataset.name}.{table.name}" if dataset else table.name
    return name if name.split(".")[0] in DATASETS else None


def _literal_date(node) -> date | None:
    import sqlglot.expressions as exp

    for literal in node.find_all(exp.Literal):
        if literal.is_string:
            try:
                return date.fromisoformat(literal.this[:10])
            except ValueError:
                return None
    return None


def _window_days(scope, alias: str, partition: str | None, single: bool) -> int | None:
    """Days of the table the conditions in ``scope`` keep, from its partition column's
    literal bounds (None: all of them)."""
    import sqlglot.expressions as exp

    if partition is None:
        return None
    low = high = None
    listed: set[date] = set()
    for column in scope.find_all(exp.Column):
        if column.find_ancestor(exp.Select, exp.Merge, exp.Delete) is not scope:
            continue  # a subquery's condition filters its own tables
        if column.name != partition or (column.table and column.table.lower() != alias):
            continue
        if not column.table and not single:
            continue
        condition = column.parent
        while isinstance(condition, (exp.Cast, exp.Anonymous, exp.Date, exp.Paren)):
            condition = condition.parent
        if isinstance(condition, exp.In):
            listed |= {d for d in map(_literal_date, condition.expressions) if d}
            continue
        if not isinstance(condition, (exp.GTE, exp.GT, exp.LT, exp.LTE, exp.EQ)):
            continue
        left_side = condition.this is column or column in condition.this.find_all(exp.Column)
        other = condition.expression if left_side else condition.this
        if any(True for _ in other.find_all(exp.Column)):
            continue
        bound = RUN_DAY if other.find(exp.Placeholder) else _literal_date(other)
        if bound is None:
            continue
        kind = type(condition)
        if not left_side:  # literal < column: flip
            kind = {exp.GTE: exp.LTE, exp.GT: exp.LT, exp.LT: exp.GT, exp.LTE: exp.GTE}.get(
                kind, kind
            )
        if kind in (exp.GTE, exp.GT, exp.EQ):
            low = bound if low is None else max(low, bound)
        if kind in (exp.LT, exp.LTE, exp.EQ):
            high = bound if high is None else min(high, bound)
    if listed:
        return len(listed)
    if low is None or low <= CAPTURE_START:
        return None
    return max(1, ((high or RUN_DAY + timedelta(days=1)) - low).days)


def _select_reads(select, tables: dict[str, Any], columns_of, pushdown: bool) -> list[Read]:
    """What one SELECT level reads from the tables in its own FROM and JOINs."""
    import sqlglot.expressions as exp

    sources = []
    for table in select.find_all(exp.Table):
        if table.find_ancestor(exp.Select) is select and _name(table):
            sources.append(table)
    own_columns = [c for c in select.find_all(exp.Column) if c.find_ancestor(exp.Select) is select]
    stars = [s for s in select.expressions if isinstance(s, exp.Star)]
    qualified_stars = {
        s.table.lower() for s in select.expressions if isinstance(s, exp.Column) and s.is_star
    }
    single = len(select.args.get("joins") or []) == 0
    reads = []
    for table in sources:
        name = _name(table)
        alias = (table.alias or table.name).lower()
        known = columns_of(TMP_SUFFIX.sub("", name))
        if stars or alias in qualified_stars:  # an unqualified * takes every source whole
            columns = STAR
        else:
            used = {
                c.name
                for c in own_columns
                if (c.table.lower() == alias if c.table else single or c.name in known)
            }
            columns = tuple(sorted(used & set(known))) or STAR
        reads += _table_reads(name, columns, select, alias, single, tables, columns_of, pushdown)
    return reads


def _table_reads(name, columns, scope, alias, single, tables, columns_of, pushdown) -> list[Read]:
    base = TMP_SUFFIX.sub("", name)
    if base != name:  # dbt's temp table: a day of its model, every column
        return [Read(base, STAR, 1)]
    view = tables.get(name, {}).get("view")
    if view:
        reads = statement_reads(view, tables, columns_of, pushdown)
        window = _window_days(scope, alias, "transaction_date", single) if pushdown else None
        if window is None:
            return reads
        return [  # the outer filter on the view's day, pushed into its partitioned tables
            Read(r.table, r.columns, window)
            if r.days is None and tables.get(r.table, {}).get("partition")
            else r
            for r in reads
        ]
    days = _window_days(scope, alias, tables.get(name, {}).get("partition"), single)
    return [Read(name, columns, days)]


@functools.cache
def _parsed(sql: str) -> tuple:
    """The statements of ``sql``, parsed once: each variant of the estimate, and each read
    of a view, walks the same trees (which nothing here modifies)."""
    import sqlglot

    return tuple(sqlglot.parse(sql, read="bigquery"))


def statement_reads(
    sql: str, tables: dict[str, Any], columns_of, pushdown: bool = False
) -> list[Read]:
    """Every table read one statement (or script) bills, with columns and days. With
    ``pushdown``, a filter on a view's ``transaction_date`` prunes the partitioned tables
    the view reads (whether BigQuery manages that depends on the view's shape)."""
    import sqlglot.expressions as exp

    reads: list[Read] = []
    for statement in _parsed(sql):
        if statement is None or isinstance(statement, (exp.Drop, exp.Command)):
            continue
        if isinstance(statement, exp.Create) and statement.kind == "VIEW":
            continue  # DDL: a view costs what reading it costs
        for select in statement.find_all(exp.Select):
            reads += _select_reads(select, tables, columns_of, pushdown)
        changed = statement.this if isinstance(statement, (exp.Merge, exp.Delete)) else None
        if isinstance(statement, exp.Merge):
            clauses = statement.args.get("whens")
            kinds = [w.args.get("then") for w in (clauses.expressions if clauses else [])]
            if not any(isinstance(k, (exp.Update, exp.Var)) for k in kinds):
                changed = None  # insert-only: only the source is billed
        if changed is not None and (name := _name(changed)):
            alias = (changed.alias or changed.name).lower()
            days = _window_days(statement, alias, tables.get(name, {}).get("partition"), True)
            reads.append(Read(name, STAR, days))
    return reads


# --- sizes ---------------------------------------------------------------------------------


def _column_bytes(kind: str, column: str) -> str:
    """SQL for the BigQuery logical bytes of one value of a DuckDB column."""
    quoted = f'"{column}"'
    if kind.startswith("VARCHAR"):
        return f"coalesce(2 + strlen({quoted}), 0)"
    if kind.startswith("DECIMAL"):
        return f"(CASE WHEN {quoted} IS NULL THEN 0 ELSE 16 END)"
    if kind == "BOOLEAN":
        return f"(CASE WHEN {quoted} IS NULL THEN 0 ELSE 1 END)"
    if kind.startswith("STRUCT") and kind.endswith("[]"):  # fact_sales.line_items
        leaf = "8 + 2 + strlen(x.product_id) + 2 + strlen(x.product_key) + 8 + 16 * 4"
        return f"coalesce(list_sum(list_transform({quoted}, lambda x: {leaf})), 0)"
    return f"(CASE WHEN {quoted} IS NULL THEN 0 ELSE 8 END)"


class Sizes:
    """Bytes per column of each table of a DuckDB warehouse, for H days and for one day."""

    def __init__(self, database: str, start: date):
        import duckdb

        self.connection = duckdb.connect(database, read_only=True)
        self.start = start
        self.columns: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for schema, table, column, kind in self.connection.execute(
            "SELECT table_schema, table_name, column_name, data_type "
            "FROM information_schema.columns WHERE table_schema LIKE 'retail_%' "
            "ORDER BY table_schema, table_name, ordinal_position"
        ).fetchall():
            self.columns[f"{schema}.{table}"].append((column, kind))
        self.cache: dict[tuple[str, int | None, int], dict[str, float]] = {}

    def names(self, table: str) -> list[str]:
        return [c for c, _ in self.columns.get(table, [])]

    def _date_column(self, table: str) -> str | None:
        names = self.names(table)
        for column in ("_partition_date", "transaction_date", "updated_at"):
            if column in names:
                return f"CAST({column} AS DATE)"
        return None

    def bytes(self, read: Read, history: int) -> float:
        if read.table not in self.columns:
            return 0.0
        key = (read.table, read.days, history)
        if key not in self.cache:
            day = self._date_column(read.table)
            end = self.start + timedelta(days=history)
            if read.days is None or read.days >= history:
                where, share = (f"{day} < DATE '{end}'" if day else "true"), 1.0
            else:  # the mean of the last 7 days, times the days read
                where = f"{day} >= DATE '{end - timedelta(days=7)}' AND {day} < DATE '{end}'"
                share = read.days / 7 if day else 1.0
            parts = ", ".join(
                f'sum({_column_bytes(kind, c)}) AS "{c}"' for c, kind in self.columns[read.table]
            )
            values = self.connection.execute(
                f"SELECT {parts} FROM {read.table} WHERE {where}"
            ).fetchone()
            self.cache[key] = {
                c: (v or 0) * share
                for (c, _), v in zip(self.columns[read.table], values, strict=True)
            }
        sizes = self.cache[key]
        if read.columns == STAR:
            return sum(sizes.values())
        return sum(sizes.get(c, 0.0) for c in read.columns)


# --- the estimate --------------------------------------------------------------------------


def kind_of(run: str, sql: str) -> str:
    """Which part of a run sent a statement: dbt models, dbt tests, or Python assets."""
    node = NODE.search(sql)
    if run != "daily_pipeline":
        return f"{run} run (once a day)"
    if node is None:
        return "Python: checks, dashboard"
    return f"dbt {node.group(1)}s"


def label(sql: str) -> str:
    node = NODE.search(sql)
    if node:
        return f"{node.group(1)} {node.group(2)}"
    return " ".join(sql.split())[:70]


def estimate(
    captured: dict[str, Any], sizes: Sizes, history: int, pushdown: bool = False
) -> list[dict[str, Any]]:
    """One row per statement: its kind, label, bytes read and bytes billed."""
    rows = []
    for statement in captured["statements"]:
        reads = statement_reads(statement["sql"], captured["tables"], sizes.names, pushdown)
        if not reads:
            continue  # DDL, schema creation: no bytes
        per_table: dict[str, float] = defaultdict(float)
        for read in reads:
            per_table[read.table] += sizes.bytes(read, history)
        rows.append(
            {
                "kind": kind_of(statement["run"], statement["sql"]),
                "label": label(statement["sql"]),
                "read": sum(per_table.values()),
                "billed": max(MIN_BYTES, sum(max(MIN_BYTES, b) for b in per_table.values())),
                "tables": {t: round(b) for t, b in per_table.items()},
            }
        )
    return rows


def main(argv: list[str] | None = None) -> dict[int, dict[str, list[dict[str, Any]]]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True, help="a warehouse bench_backfill loaded")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2025, 1, 1))
    parser.add_argument("--histories", default="30,365", help="H values, comma-separated")
    parser.add_argument(
        "--statements",
        type=Path,
        help="a capture file: read it if it exists, else capture and write it there",
    )
    parser.add_argument("--top", type=int, default=12, help="list the N costliest statements")
    args = parser.parse_args(argv)
    if not Path(args.database).exists():
        sys.exit(f"no warehouse at {args.database}")
    if args.statements and args.statements.exists():
        captured = json.loads(args.statements.read_text())
    else:
        captured = capture()
        if args.statements:
            args.statements.write_text(json.dumps(captured, indent=1))
    sizes = Sizes(args.database, args.start)
    results = {}
    for history in (int(h) for h in args.histories.split(",")):
        results[history] = {
            "views_whole": estimate(captured, sizes, history),
            "views_pruned": estimate(captured, sizes, history, pushdown=True),
        }
        report(history, results[history], args.top)
    return results


def _totals(rows: list[dict[str, Any]]) -> dict[str, list[float]]:
    kinds: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    for r in rows:
        for key in (r["kind"], "total"):
            kinds[key][0] += 1
            kinds[key][1] += r["read"]
            kinds[key][2] += r["billed"]
    return kinds


def report(history: int, variants: dict[str, list[dict[str, Any]]], top: int) -> None:
    whole, pruned = _totals(variants["views_whole"]), _totals(variants["views_pruned"])
    differ = whole["total"] != pruned["total"]
    print(
        f"warehouse of {history} days (read / billed, MB"
        + ("; a view read whole / its filter on transaction_date pushed into it" if differ else "")
        + "):"
    )
    for kind in [*(k for k in whole if k != "total"), "total"]:
        w, p = whole[kind], pruned[kind]
        pushed = f"   {p[1] / 1e6:>8,.0f} / {p[2] / 1e6:>8,.0f}" if differ else ""
        print(
            f"  {kind:<32} {int(w[0]):>3} queries {w[1] / 1e6:>8,.0f} / {w[2] / 1e6:>8,.0f}{pushed}"
        )
    print(f"  ~{whole['total'][2] / 2**40 * USD_PER_TIB:.3f} USD on demand")
    print(f"  the {top} statements that read most:")
    for r in sorted(variants["views_whole"], key=lambda r: -r["read"])[:top]:
        biggest = max(r["tables"], key=r["tables"].get)
        print(f"    {r['read'] / 1e6:>8,.0f} MB  {r['label']:<48} (most from {biggest})")


if __name__ == "__main__":
    main()
