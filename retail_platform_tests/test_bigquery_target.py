"""The BigQuery target's parts against the emulators, through the real Google clients.

bqemulator (DuckDB behind the BigQuery REST API) and fake-gcs-server prove the wire
protocol and the SQL the emulator understands, not BigQuery's semantics: see docs/gcp.md.
"""

import datetime
import json
from decimal import Decimal

import dagster as dg
import pandas as pd
import pytest
import sqlglot
from sqlglot import exp

from retail_platform.defs.raw.assets import raw_assets
from retail_platform.defs.resources import resources_for
from retail_platform.lib.simulator import FaultConfig, SimulationConfig, simulate
from retail_platform.lib.targets import Target
from retail_platform.lib.warehouse import BigQueryWarehouse
from retail_platform_tests.helpers.local_platform import run_dbt

pytestmark = [pytest.mark.bigquery, pytest.mark.gcs]

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def test_the_warehouse_resource_reads_through_the_real_client(bigquery_env):
    client = bigquery_env.client()
    client.create_dataset("retail_check", exists_ok=True)
    frame = pd.DataFrame(
        {
            "day": [datetime.date(2025, 1, 1), datetime.date(2025, 1, 2)],
            "amount": [Decimal("1.10"), Decimal("2.25")],
            "store_id": ["S1", "S2"],
        }
    )
    client.load_table_from_dataframe(frame, "retail_check.amounts").result()

    warehouse = BigQueryWarehouse(project=bigquery_env.project)
    rows = warehouse.query(
        "SELECT store_id, amount FROM retail_check.amounts WHERE day >= ? ORDER BY store_id",
        [datetime.date(2025, 1, 2)],
    )
    assert rows == [("S2", Decimal("2.25"))]
    assert warehouse.row_count("retail_check.amounts") == 2
    assert list(warehouse.frame("SELECT store_id FROM retail_check.amounts")["store_id"]) in (
        ["S1", "S2"],
        ["S2", "S1"],
    )
    # rows per day of a window, for several tables in one query (partition row counts)
    client.load_table_from_dataframe(
        pd.DataFrame({"day": [datetime.date(2025, 1, 1)] * 3}), "retail_check.days"
    ).result()
    window = (datetime.date(2025, 1, 1), datetime.date(2025, 1, 2))
    assert warehouse.rows_by_day(["retail_check.amounts", "retail_check.days"], "day", *window) == {
        "retail_check.amounts": {datetime.date(2025, 1, 1): 1},
        "retail_check.days": {datetime.date(2025, 1, 1): 3},
    }


def test_the_warehouse_lists_a_datasets_tables_and_views_in_one_request(bigquery_env):
    """``relations_in`` (one tables.list) names a dataset's tables and views; a dataset not
    created yet holds none; ``relation_exists`` answers from it."""
    client = bigquery_env.client()
    client.create_dataset("retail_marts", exists_ok=True)
    client.create_dataset("retail_gold", exists_ok=True)
    client.query("CREATE TABLE retail_marts.payment_mix (transaction_date DATE)").result()
    client.query("CREATE VIEW retail_marts.v_executive_summary AS SELECT 1 AS x").result()
    client.query("CREATE TABLE retail_gold.city_sales (city STRING)").result()

    warehouse = BigQueryWarehouse(project=bigquery_env.project)
    assert warehouse.relations_in("retail_marts") == {"payment_mix", "v_executive_summary"}
    assert warehouse.relations_in(f"{bigquery_env.project}.retail_gold") == {"city_sales"}
    assert warehouse.relations_in("retail_ml") == frozenset()
    assert warehouse.relation_exists("retail_marts.v_executive_summary")
    # dbt's names carry the project
    assert warehouse.relation_exists(f"{bigquery_env.project}.retail_marts.payment_mix")
    assert not warehouse.relation_exists("retail_marts.city_sales")  # another dataset's
    assert not warehouse.relation_exists("retail_ml.churn_scores")
    with pytest.raises(ValueError, match="not a schema name"):
        warehouse.relations_in("retail_marts; DROP")


def landed_rows_per_day(zone, entity: str) -> dict[datetime.date, int]:
    """Count the landed lines of each day, straight from the bucket."""
    counts: dict[datetime.date, int] = {}
    for file in zone.list_files(entity):
        lines = zone.read_bytes(file.path).decode().splitlines()
        counts[file.partition_date] = counts.get(file.partition_date, 0) + len(lines)
    return counts


def test_raw_assets_load_the_gcs_bucket_into_bigquery_through_the_io_manager(
    bigquery_env, gcs_zone, monkeypatch
):
    monkeypatch.setenv("RETAIL_LANDING_BUCKET", gcs_zone.bucket)
    monkeypatch.setenv("RETAIL_LANDING_PREFIX", gcs_zone.prefix)
    start = datetime.date(2025, 1, 1)
    config = SimulationConfig(seed=5, orders_per_day=20, faults=FaultConfig.none())
    simulate(gcs_zone, config, start=start, days=2)
    target = Target("bigquery", "bigquery")
    resources = resources_for(target)  # what RETAIL_TARGET=bigquery wires in, from the env
    tags = {RANGE_START: "2025-01-01", RANGE_END: "2025-01-02"}

    def load() -> None:
        result = dg.materialize(raw_assets(target), resources=resources, tags=tags)
        assert result.success

    load()
    load()  # a re-run replaces the window's partitions, it never appends them twice
    client = bigquery_env.client()
    table = client.get_table(f"{bigquery_env.project}.retail_raw.orders")
    assert table.time_partitioning.field == "_partition_date"  # created before the first load
    fields = {field.name: field.field_type for field in table.schema}
    assert fields["_partition_date"] == "DATETIME" and fields["order_id"] == "STRING"
    assert all(name == name.lower() for name in fields)  # not the IO manager's upper case
    for entity in ("orders", "customers", "inventory"):
        rows = client.query(
            f"SELECT _partition_date, count(*) FROM retail_raw.{entity} GROUP BY 1"
        ).result()
        loaded = {_as_date(day): count for day, count in rows}
        assert loaded == landed_rows_per_day(gcs_zone, entity), entity


def test_the_io_manager_partition_filter_compares_the_bare_datetime_column_with_constants():
    """dagster-gcp filters a time window with `expr >= 'YYYY-mm-dd HH:MM:SS'`. On a DATE
    column BigQuery rejects that literal (dagster-io/dagster#13147; the emulator does not);
    wrapping the column in a function would lose partition pruning. Our raw partition
    column is a DATETIME, the table's partitioning field, compared bare with constants."""
    from dagster._core.storage.db_io_manager import TablePartitionDimension, TableSlice
    from dagster_gcp.bigquery.io_manager import BigQueryClient, _get_cleanup_statement

    orders = next(
        a for a in raw_assets(Target("bigquery", "bigquery")) if a.key.path[-1] == "orders"
    )
    partition_expr = orders.metadata_by_key[orders.key]["partition_expr"]
    window = dg.TimeWindow(
        datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC),
        datetime.datetime(2025, 1, 3, tzinfo=datetime.UTC),
    )
    table_slice = TableSlice(
        table="orders",
        schema="retail_raw",
        database="p",
        partition_dimensions=[TablePartitionDimension(partition_expr, window)],
    )
    for sql in (
        _get_cleanup_statement(table_slice),
        BigQueryClient.get_select_statement(table_slice),
    ):
        where = sqlglot.parse_one(sql, read="bigquery").find(exp.Where)
        comparisons = list(where.find_all(exp.GTE, exp.LT))
        assert len(comparisons) == 2
        for comparison in comparisons:
            assert (
                isinstance(comparison.this, exp.Column)
                and comparison.this.name == "_partition_date"
            )
            assert isinstance(comparison.expression, exp.Literal)
            datetime.datetime.strptime(comparison.expression.this, "%Y-%m-%d %H:%M:%S")


def _as_date(value) -> datetime.date:
    return value.date() if isinstance(value, datetime.datetime) else value


def test_dbt_reaches_the_emulator_through_the_bigquery_profile(bigquery_env, tmp_path):
    completed = run_dbt(
        ["show", "--inline", "select 40 + 2 as answer", "--output", "json"],
        tmp_path,
        RETAIL_TARGET="bigquery",
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert '"answer": 42' in completed.stdout


CLUSTERED = {
    "orders": "store_id", "inventory": "store_id", "fact_sales": "store_id",
    "fact_shipments": "store_id", "fact_inventory": "store_id", "agg_daily_sales": "store_id",
    "agg_daily_product_sales": "product_id",
}  # fmt: skip


def test_every_partitioned_model_compiles_to_one_window_on_bigquery(bigquery_env, tmp_path):
    """dbt compiles the partitioned models for the bigquery target with a one-day window:
    each reads its inputs only inside the window (a daily run scans one partition, not the
    history); facts replace exactly that partition (insert_overwrite, static partitions),
    dimensions merge the window's newest versions. (The emulator has no tables here, so
    dim_customers compiles as its first build, a copy of silver customers; its merge of the
    window's customers is test_transforms.py's order-independence test.)"""

    completed = run_dbt(
        ["compile", "--select", "tag:partitioned", "--quiet"],
        tmp_path,
        RETAIL_TARGET="bigquery",
        RETAIL_WINDOW_MIN_DATE="2025-01-02",
        RETAIL_WINDOW_MAX_DATE="2025-01-03",
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    incremental = [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"]["materialized"] == "incremental"
    ]
    # 9 silver entities, rejects, 4 gold facts, dim_customers, 3 daily marts
    # (agg_daily_sales, agg_daily_product_sales, payment_mix) and the 2 reconciliation tables
    assert len(incremental) == 20
    compiled_root = tmp_path / "target" / "compiled" / "retail_platform"
    for node in incremental:
        name, config = node["name"], node["config"]
        if config["incremental_strategy"] == "merge":  # silver dimensions, dim_customers
            assert config["unique_key"], name
            if name == "dim_customers":
                continue
        else:
            assert config["incremental_strategy"] == "insert_overwrite", name
            assert config["partition_by"]["field"] == "transaction_date", name
            assert config["partitions"] == ["date '2025-01-02'"], name
            # Gold facts refuse queries without a partition filter; tables with a store
            # are clustered by it (the emulator shows neither: checked in the config).
            is_gold_fact = node["fqn"][1] == "gold" and name.startswith("fact_")
            assert config.get("require_partition_filter") is is_gold_fact, name
            clustered_by = [CLUSTERED[name]] if name in CLUSTERED else None
            assert config.get("cluster_by") == clustered_by, name
        compiled = (compiled_root / node["original_file_path"]).read_text()
        assert "'2025-01-02'" in compiled and "'2025-01-03'" in compiled, name
        assert "1900-01-01" not in compiled, name  # no all-partitions (whole history) read
