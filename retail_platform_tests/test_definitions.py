"""The code location loads, as `dagster dev` would load it, with the expected graph."""

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from retail_platform.lib.entities import ENTITIES
from retail_platform.lib.partitions import transaction_date_partitions

ROOT = Path(__file__).resolve().parents[1]


def test_dagster_validates_the_workspace(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "RETAIL_DATA_DIR": str(tmp_path / "data")}
    dagster = Path(sys.executable).with_name("dagster")
    completed = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "Validation successful" in completed.stdout + completed.stderr


def test_every_raw_entity_is_an_asset_on_the_shared_partitions():
    from retail_platform.definitions import defs

    graph = defs.resolve_asset_graph()
    raw_keys = {k for k in graph.get_all_asset_keys() if k.path[0] == "raw"}
    assert raw_keys == {dg.AssetKey(["raw", name]) for name in ENTITIES}
    for key in raw_keys:
        node = graph.get(key)
        assert node.partitions_def == transaction_date_partitions
        assert node.group_name == "raw"
        assert node.backfill_policy == dg.BackfillPolicy.single_run()
        assert defs.resolve_assets_def(key).op.pool == "warehouse"


def test_jobs_and_sensor_are_there():
    from retail_platform.definitions import defs

    assert defs.resolve_job_def("daily_pipeline").partitions_def == transaction_date_partitions
    assert defs.resolve_job_def("simulate_day").partitions_def == transaction_date_partitions
    sensor = defs.resolve_sensor_def("landing_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_churn_jobs_schedule_and_engine_choice(monkeypatch):
    from retail_platform.definitions import defs
    from retail_platform.lib.targets import current_target

    graph = defs.resolve_asset_graph()
    churn_model, scores = dg.AssetKey(["ml", "churn_model"]), dg.AssetKey(["ml", "churn_scores"])
    health = dg.AssetKey(["marts", "customer_health"])

    def selected(job_name: str) -> set[dg.AssetKey]:
        return defs.resolve_job_def(job_name).asset_layer.selected_asset_keys

    features, dashboard = dg.AssetKey(["ml", "churn_features"]), dg.AssetKey(["marts", "dashboard"])
    assert {churn_model, scores, health} <= selected("full_backfill")
    # A day's files rebuild the layers up to the marts; churn has its own jobs.
    assert health in selected("daily_pipeline")
    assert not selected("daily_pipeline") & {features, churn_model, scores}
    assert selected("churn_scoring") == {features, scores, health, dashboard}
    assert selected("churn_retrain") == {features, churn_model, scores, health, dashboard}
    # One churn run at 06:00 UTC every day: retrain and score on Mondays, score otherwise.
    weekly = defs.resolve_schedule_def("churn_retrain_weekly")
    daily = defs.resolve_schedule_def("churn_scoring_daily")
    assert (weekly.cron_schedule, weekly.job_name) == ("0 6 * * 1", "churn_retrain")
    assert (daily.cron_schedule, daily.job_name) == ("0 6 * * 0,2-6", "churn_scoring")
    assert graph.get(churn_model).group_name == "ml"
    assert "sklearn" in graph.get(churn_model).kinds

    monkeypatch.setenv("RETAIL_TARGET", "bigquery")
    monkeypatch.delenv("RETAIL_CHURN_ENGINE", raising=False)
    assert current_target().churn_engine == "bqml"
    monkeypatch.setenv("RETAIL_CHURN_ENGINE", "sklearn")  # e.g. on the BigQuery emulator
    assert current_target().churn_engine == "sklearn"
    monkeypatch.setenv("RETAIL_TARGET", "local")
    monkeypatch.setenv("RETAIL_CHURN_ENGINE", "bqml")
    with pytest.raises(ValueError, match="bqml needs RETAIL_TARGET=bigquery"):
        current_target()


# Every job that reads or writes the warehouse (simulate_day writes landing files only).
WAREHOUSE_JOBS = (
    "daily_pipeline",
    "full_backfill",
    "churn_scoring",
    "churn_retrain",
    "customer_value_marts",
    "forecast_retrain",
    "recommendations_retrain",
)


def test_warehouse_jobs_are_every_job_but_the_simulator_and_the_freshness_check():
    from retail_platform.definitions import defs

    names = {job.name for job in defs.resolve_all_job_defs()} - {"__ASSET_JOB"}
    assert names - set(WAREHOUSE_JOBS) == {"simulate_day", "raw_orders_freshness"}


def test_the_customer_value_marts_refresh_once_a_day_off_the_sensor_path():
    """The lifetime and monthly breakdowns read every sale: the sensor's daily run leaves
    them to their own daily job (and to full_backfill, which builds everything)."""
    from retail_platform.definitions import defs

    def selected(job_name: str) -> set[dg.AssetKey]:
        return defs.resolve_job_def(job_name).asset_layer.selected_asset_keys

    once_a_day = {
        dg.AssetKey(["marts", name])
        for name in (
            "customer_value",
            "customer_value_tiers",
            "repeat_customer_revenue",
            "top_customers",
            "city_sales",
            "category_sales",
            "discount_analysis",
            "customer_demographics",
        )
    }
    dashboard = dg.AssetKey(["marts", "dashboard"])
    assert selected("customer_value_marts") == once_a_day | {dashboard}
    assert not selected("daily_pipeline") & once_a_day
    assert once_a_day <= selected("full_backfill")
    schedule = defs.resolve_schedule_def("customer_value_marts_daily")
    assert (schedule.cron_schedule, schedule.job_name) == ("15 6 * * *", "customer_value_marts")


def test_recommendations_retrain_weekly_off_the_sensor_path_and_in_the_backfill():
    from retail_platform.definitions import defs

    def selected(job_name: str) -> set[dg.AssetKey]:
        return defs.resolve_job_def(job_name).asset_layer.selected_asset_keys

    feedback, model = (
        dg.AssetKey(["ml", "purchase_feedback"]),
        dg.AssetKey(["ml", "product_recommendations"]),
    )
    mart, dashboard = (
        dg.AssetKey(["marts", "recommended_products"]),
        dg.AssetKey(["marts", "dashboard"]),
    )
    assert selected("recommendations_retrain") == {feedback, model, mart, dashboard}
    assert not selected("daily_pipeline") & {feedback, model}
    assert {feedback, model, mart} <= selected("full_backfill")
    schedule = defs.resolve_schedule_def("recommendations_retrain_weekly")
    assert (schedule.cron_schedule, schedule.job_name) == ("45 6 * * 1", "recommendations_retrain")
    gate = defs.resolve_asset_graph().get_check_spec(dg.AssetCheckKey(model, "beats_popularity"))
    assert gate.blocking


def test_every_step_of_every_job_waits_for_the_warehouse_pool():
    """DuckDB allows one writing process per file: a step outside the pool (a check that
    reads a reconciliation table, say) can open the file while dbt holds it."""
    from retail_platform.definitions import defs

    for name in WAREHOUSE_JOBS:
        ops = defs.resolve_job_def(name).graph.iterate_op_defs()
        assert {op.name: op.pool for op in ops if op.pool != "warehouse"} == {}, name


def test_a_launched_run_runs_every_step_in_one_process_on_either_target(monkeypatch):
    """Every step is in the one-slot warehouse pool (above): a process per step could not
    overlap them and would only pay each step's start-up."""
    from retail_platform.definitions import build_definitions, defs
    from retail_platform.lib.targets import current_target

    monkeypatch.setenv("RETAIL_TARGET", "bigquery")
    monkeypatch.delenv("RETAIL_CHURN_ENGINE", raising=False)  # bqml, the production default
    bigquery = build_definitions(current_target())
    for name in WAREHOUSE_JOBS:
        assert defs.resolve_job_def(name).executor_def.name == "in_process", name
        assert bigquery.resolve_job_def(name).executor_def.name == "in_process", name
    churn_model = bigquery.resolve_asset_graph().get(dg.AssetKey(["ml", "churn_model"]))
    assert "bigqueryml" in churn_model.kinds


def test_the_instance_gives_the_warehouse_pool_one_slot(tmp_path, monkeypatch):
    from retail_platform.instance import dagster_home

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    home = dagster_home()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        pools = instance.get_concurrency_config().pool_config
        assert pools.default_pool_limit == 1
        assert pools.pool_granularity.value == "op"


def test_every_asset_explains_itself_in_the_ui():
    """Description, owners, kinds (with the warehouse's), columns and code references on
    every asset; a freshness policy on gold and marts. The dashboard is a file, not a
    table: it has no columns; dbt's exposures are readers (BI, the dashboard), named by
    their tools' kinds."""
    from retail_platform.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    assert len(keys) > 40
    for key in keys:
        node, name = graph.get(key), key.to_user_string()
        assert node.description and len(node.description) > 20, name
        assert node.owners, name
        assert "dagster/code_references" in node.metadata, name
        if key.path[0] == "exposures":
            assert node.kinds - {"dbt", "dashboard"}, name  # the tool that reads
            continue
        assert node.kinds & {"duckdb", "sklearn"}, name  # where it lives or what trains it
        if key != dg.AssetKey(["marts", "dashboard"]):
            assert node.metadata["dagster/column_schema"].columns, name
        fresh = node.freshness_policy is not None
        assert fresh == (key.path[0] in ("gold", "marts")), name


def _columns(node) -> list:
    schema = node.metadata["dagster/column_schema"]
    return getattr(schema, "schema", schema).columns


def test_the_ui_shows_the_types_and_meaning_of_raw_gold_and_mart_columns():
    """Raw columns carry the contract's description (lib/entities.py). Gold and mart
    models enforce a contract, so every column's type in the UI is the one dbt checked
    the table against; each column is described. A dbt asset's description is its
    model's, not its SQL. A partitioned model has the day column its partitions are
    counted by (dagster/partition_row_count)."""
    from retail_platform.definitions import defs
    from retail_platform.defs.transforms.assets import DAY_COLUMN, MANIFEST
    from retail_platform.lib.entities import LINEAGE_DESCRIPTIONS

    graph = defs.resolve_asset_graph()
    for name, entity in ENTITIES.items():
        columns = {c.name: c.description for c in _columns(graph.get(dg.AssetKey(["raw", name])))}
        assert set(columns) == set(entity.column_names) | set(LINEAGE_DESCRIPTIONS), name
        assert all(columns.values()), name
        for key_column in entity.natural_key:
            assert "natural key" in columns[key_column], (name, key_column)

    nodes = MANIFEST["nodes"]
    models = {n["name"]: n for n in nodes.values() if n["resource_type"] == "model"}
    checked = 0
    for key in graph.get_all_asset_keys():
        layer, model = key.path[0], key.path[-1]
        if layer == "raw" or model not in models:  # raw assets are Python
            continue
        node, manifest_node = graph.get(key), models[model]
        assert node.description == manifest_node["description"].strip(), model
        if layer in ("gold", "marts"):
            assert manifest_node["config"]["contract"]["enforced"], model
            for column in _columns(node):
                assert column.type not in ("", "?"), (model, column.name)
                assert column.description, (model, column.name)
            checked += 1
        if "partitioned" in manifest_node["tags"]:
            assert DAY_COLUMN in {column.name for column in _columns(node)}, model
    # every gold and mart model is an asset and was checked
    assert checked == sum(m["fqn"][1] in ("gold", "marts") for m in models.values())


def test_make_dev_says_how_to_load_data_into_an_empty_warehouse(tmp_path, week):
    from retail_platform.instance import warehouse_status

    empty = warehouse_status(str(tmp_path / "none.duckdb"))
    assert "is empty" in empty and "make demo" in empty
    loaded = warehouse_status(str(week.database))
    assert "holds sales from 2025-01-01 to 2025-01-07" in loaded


def test_a_run_invokes_dbt_once_per_partitioned_models_and_once_more_around_the_scores():
    """dbt's start-up is paid per step. The daily run: the partitioned models, then every
    other model (the calendar included: it reads fact_sales). A run with the models: the
    views over what their Python steps write come after those steps: customer_health and
    sales_vs_forecast (the churn scores and the forecast, three steps after the dbt models
    they read), and recommended_products (the recommendations, one step after theirs),
    which Dagster's split of the dbt assets puts in a step of its own."""
    from dagster._core.definitions.dependency import NodeHandle

    from retail_platform.definitions import defs

    def dbt_steps(name: str) -> dict[str, set[str]]:
        job = defs.resolve_job_def(name)
        return {
            node: {
                key.to_user_string()
                for key in job.asset_layer.get_selected_entity_keys_for_node(NodeHandle(node, None))
                if isinstance(key, dg.AssetKey)
            }
            for node in job.graph.node_dict
            if node.startswith("dbt")
        }

    daily = dbt_steps("daily_pipeline")
    assert sorted(daily) == ["dbt_models", "dbt_partitioned_models"]
    assert {"gold/dim_dates", "gold/dim_products", "marts/customer_health"} <= daily["dbt_models"]
    assert {
        "gold/dim_customers", "marts/agg_daily_sales", "marts/agg_daily_product_sales",
        "marts/payment_mix",
    } <= daily["dbt_partitioned_models"]  # fmt: skip
    assert "marts/top_products_monthly" in daily["dbt_models"]
    backfill = dbt_steps("full_backfill")
    assert len(backfill) == 4, sorted(backfill)
    assert {
        "gold/dim_dates", "ml/churn_features", "ml/daily_net_revenue", "ml/purchase_feedback"
    } <= backfill["dbt_models"]  # fmt: skip
    assert {"marts/customer_health", "marts/sales_vs_forecast"} in backfill.values()
    assert {"marts/recommended_products"} in backfill.values()


def test_every_duckdb_connection_of_the_local_target_is_memory_limited(tmp_path, monkeypatch):
    """The run worker's DuckDB (IO manager, warehouse resource) gets the limit dbt's
    profile gets: RETAIL_DUCKDB_MEMORY_LIMIT, by default the same 2GB in both."""
    import duckdb

    from retail_platform.defs.resources import resources_for
    from retail_platform.lib.targets import DEFAULT_DUCKDB_MEMORY_LIMIT, PROJECT_ROOT, Target

    monkeypatch.setenv("RETAIL_DUCKDB_PATH", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("RETAIL_DUCKDB_MEMORY_LIMIT", "1GB")
    resources = resources_for(Target("local", "duckdb"))
    assert resources["io_manager"].connection_config == {"memory_limit": "1GB"}
    show = "SELECT current_setting('memory_limit')"
    [(setting,)] = resources["warehouse"].query(show)
    with duckdb.connect() as default, duckdb.connect(config={"memory_limit": "1GB"}) as limited:
        assert setting == limited.execute(show).fetchone()[0] != default.execute(show).fetchone()[0]
    profile = (PROJECT_ROOT / "sql" / "profiles.yml").read_text()
    assert DEFAULT_DUCKDB_MEMORY_LIMIT == "2GB"
    assert "memory_limit: \"{{ env_var('RETAIL_DUCKDB_MEMORY_LIMIT', '2GB') }}\"" in profile
    monkeypatch.delenv("RETAIL_DUCKDB_MEMORY_LIMIT")
    assert resources_for(Target("local", "duckdb"))["warehouse"].memory_limit == "2GB"


def test_the_lineage_ends_in_the_dbt_exposures():
    """Each exposure of sql/models/exposures.yml is an asset that Dagster shows after the
    marts it reads and never materializes, in no job."""
    import yaml

    from retail_platform.definitions import defs
    from retail_platform.lib.targets import PROJECT_ROOT

    declared = yaml.safe_load((PROJECT_ROOT / "sql/models/exposures.yml").read_text())
    graph = defs.resolve_asset_graph()
    for exposure in declared["exposures"]:
        node = graph.get(dg.AssetKey(["exposures", exposure["name"]]))
        refs = {ref.removeprefix("ref('").removesuffix("')") for ref in exposure["depends_on"]}
        assert {key.path[-1] for key in node.parent_keys} == refs, exposure["name"]
        assert all(key.path[0] == "marts" for key in node.parent_keys)
        assert not node.is_materializable
        assert node.group_name == "exposures"
    for job in defs.resolve_all_job_defs():
        assert not any(k.path[0] == "exposures" for k in job.asset_layer.selected_asset_keys)


def test_docs_bi_names_the_jobs_that_refresh_each_mart():
    """docs/bi.md's refresh table names every mart of sql/models/marts once, with exactly
    the jobs (full_backfill aside: it builds everything) whose selection holds it, and
    schedules of those jobs only."""
    import re

    from retail_platform.definitions import defs
    from retail_platform.defs.transforms.assets import MANIFEST

    nodes = MANIFEST["nodes"].values()
    marts = {
        n["name"] for n in nodes if n["resource_type"] == "model" and n["path"].startswith("marts/")
    }
    jobs = {
        job.name: {
            key.path[-1] for key in job.asset_layer.selected_asset_keys if key.path[0] == "marts"
        }
        for job in defs.resolve_all_job_defs()
        if job.name not in ("full_backfill", "__ASSET_JOB")
    }
    schedules = {schedule.name: schedule.job_name for schedule in defs.schedules}

    text = (ROOT / "docs" / "bi.md").read_text()
    header = "| marts | refreshed by | when |"
    rows = text[text.index(header) :].split("\n\n")[0].splitlines()[2:]
    assert rows
    named: list[str] = []
    for row in rows:
        subject, refreshed_by, when = row.strip("|").split(" | ")
        # the marts a row is about, not those named in parentheses (what a view reads)
        row_marts = set(re.findall(r"`(\w+)`", re.sub(r"\([^)]*\)", "", subject)))
        row_jobs = set(re.findall(r"`(\w+)`", refreshed_by))
        assert row_marts <= marts and row_jobs <= set(jobs), row
        named += row_marts
        for mart in row_marts:
            assert row_jobs == {job for job, selected in jobs.items() if mart in selected}, mart
        for schedule in set(re.findall(r"`(\w+)`", when)) & set(schedules):
            assert schedules[schedule] in row_jobs, (schedule, row)
    assert sorted(named) == sorted(marts)


# Counts the opens of dbt's manifest (Path.read_text/read_bytes open through io.open)
# while the code location is imported, in a fresh interpreter.
COUNT_MANIFEST_READS = """
import builtins, io, json
opened = []
real_open = io.open
def counting_open(file, *args, **kwargs):
    if str(file).endswith("manifest.json"):
        opened.append(str(file))
    return real_open(file, *args, **kwargs)
builtins.open = io.open = counting_open
import retail_platform.definitions
print(json.dumps(opened))
"""


def test_loading_the_code_location_reads_the_dbt_manifest_once(tmp_path):
    """Both ``@dbt_assets`` and the exposures' assets share one parsed manifest.json (the
    exposures take theirs from the dbt assets): a production manifest is megabytes."""
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "RETAIL_TARGET": "local"}
    completed = subprocess.run(
        [sys.executable, "-c", COUNT_MANIFEST_READS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    opened = json.loads(completed.stdout.strip().splitlines()[-1])
    assert len(opened) == 1 and opened[0].endswith("local/manifest.json"), opened
