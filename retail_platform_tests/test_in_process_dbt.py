"""How the dbt invocations are built and what they leave behind."""

import os
import shutil
import time
from datetime import timedelta

import dagster as dg
import pytest

from retail_platform.defs.transforms.assets import WINDOW_ENV, dbt_build_args
from retail_platform.defs.transforms.in_process import DbtInThisProcess, paths_from
from retail_platform.defs.transforms.project import DBT_PROJECT_DIR
from retail_platform.defs.transforms.resource import dbt_resource
from retail_platform.defs.transforms.run_folders import (
    PARTIAL_PARSE,
    keep_partial_parse,
    prune_run_folders,
)
from retail_platform.settings import environment
from retail_platform_tests.conftest import WEEK_DAYS, WEEK_START
from retail_platform_tests.helpers.local_platform import run_dbt


def test_full_refresh_flag_and_no_unit_tests():
    unit_tests_left_out = ["--exclude-resource-type", "unit_test"]  # test_dbt_unit_tests.py
    assert dbt_build_args(full_refresh=True) == ["build", *unit_tests_left_out, "--full-refresh"]
    assert dbt_build_args(full_refresh=False) == ["build", *unit_tests_left_out]


def test_the_window_is_set_for_one_invocation_and_then_restored(monkeypatch):
    monkeypatch.setenv("RETAIL_WINDOW_MIN_DATE", "1999-01-01")
    monkeypatch.delenv("RETAIL_WINDOW_MAX_DATE", raising=False)
    window = {"RETAIL_WINDOW_MIN_DATE": "2025-01-01", "RETAIL_WINDOW_MAX_DATE": "2025-01-08"}
    with environment(window, unset=WINDOW_ENV):
        assert os.environ["RETAIL_WINDOW_MIN_DATE"] == "2025-01-01"
        assert os.environ["RETAIL_WINDOW_MAX_DATE"] == "2025-01-08"
    assert os.environ["RETAIL_WINDOW_MIN_DATE"] == "1999-01-01"
    assert "RETAIL_WINDOW_MAX_DATE" not in os.environ


def test_unpartitioned_models_run_without_a_window(monkeypatch):
    monkeypatch.setenv("RETAIL_WINDOW_MIN_DATE", "2025-01-01")
    with environment({}, unset=WINDOW_ENV):
        assert "RETAIL_WINDOW_MIN_DATE" not in os.environ
    assert os.environ["RETAIL_WINDOW_MIN_DATE"] == "2025-01-01"


def test_a_run_leaves_its_parse_state_for_the_next_one(tmp_path):
    run_folder = tmp_path / "dbt_models-abc1234-def5678"
    run_folder.mkdir()
    (run_folder / PARTIAL_PARSE).write_bytes(b"parsed with the new profile")
    (tmp_path / PARTIAL_PARSE).write_bytes(b"stale")
    assert keep_partial_parse(run_folder)
    assert (tmp_path / PARTIAL_PARSE).read_bytes() == b"parsed with the new profile"
    assert not keep_partial_parse(run_folder)  # the same state: nothing to do
    assert not keep_partial_parse(tmp_path / "failed-before-parsing-0")


def test_old_run_folders_are_pruned_and_recent_ones_kept(tmp_path):
    now = time.time()
    ages = {"old": 3600, "older": 7200, "recent": 60, "newest": 0}
    for i, (name, age) in enumerate(ages.items()):
        folder = tmp_path / f"dbt_models-{name}-{i}"
        folder.mkdir()
        os.utime(folder, (now - age, now - age))
    (tmp_path / "compiled").mkdir()  # not an invocation folder: never touched
    assert prune_run_folders(tmp_path / "never-written") == []  # dbt failed before writing
    removed = prune_run_folders(tmp_path, keep=1)
    assert sorted(p.name for p in removed) == ["dbt_models-old-0", "dbt_models-older-1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "compiled",
        "dbt_models-newest-3",
        "dbt_models-recent-2",
    ]


def test_a_new_window_reparses_nothing_and_reaches_the_tests(tmp_path):
    """The window is read when models and tests execute, not when dbt parses them: a run
    for another day keeps the whole parse, and the blocking tests still check that day."""
    env = {"RETAIL_DUCKDB_PATH": str(tmp_path / "w.duckdb")}
    first = {"RETAIL_WINDOW_MIN_DATE": "2025-01-01", "RETAIL_WINDOW_MAX_DATE": "2025-01-02"}
    assert run_dbt(["parse"], tmp_path, **env, **first).returncode == 0
    other = {"RETAIL_WINDOW_MIN_DATE": "2025-03-01", "RETAIL_WINDOW_MAX_DATE": "2025-03-03"}
    test = "unique_across_partitions_fact_payments_payment_key"
    compiled = run_dbt(["compile", "-s", test], tmp_path, **env, **other)
    assert compiled.returncode == 0, compiled.stdout
    log = (tmp_path / "logs" / "dbt.log").read_text()
    assert log.count("Partial parsing enabled, no changes found") == 1, log[-3000:]
    sql = " ".join(compiled.stdout.split())
    assert "transaction_date >= cast('2025-03-01' as date)" in sql
    assert "transaction_date < cast('2025-03-03' as date)" in sql


def dagster_view(result: dg.ExecuteInProcessResult) -> dict:
    """What a run told Dagster: each materialization with its row count, each check's
    outcome (run ids and timings left out)."""
    materialized = {}
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        rows = materialization.metadata.get("dagster/row_count")
        materialized[materialization.asset_key.to_user_string()] = rows and rows.value
    checks = {
        (e.asset_key.to_user_string(), e.check_name): (e.passed, str(e.severity))
        for e in result.get_asset_check_evaluations()
    }
    return {"materialized": materialized, "checks": checks}


def test_dbt_in_this_process_tells_dagster_what_a_dbt_subprocess_does(week, tmp_path):
    """The same selection built by dbt in the run's process and by dbt as a subprocess:
    the same materializations, row counts and check outcomes. (A failing blocking test in
    this process: test_transforms.py, the duplicate in silver.)"""
    platform = week.copy_to(tmp_path / "warehouse")
    last = WEEK_START + timedelta(days=WEEK_DAYS - 1)
    selection = [
        dg.AssetKey(["gold", "dim_stores"]),
        dg.AssetKey(["gold", "dim_customers"]),
        dg.AssetKey(["marts", "payment_mix"]),
    ]
    views = {}
    for in_process in (True, False):
        dbt = dbt_resource(in_process=in_process)
        result = platform.run(WEEK_START, last, selection=selection, resources={"dbt": dbt})
        assert result.success
        views[in_process] = dagster_view(result)
    assert views[True] == views[False]
    assert len(views[True]["materialized"]) == 3 and len(views[True]["checks"]) > 5
    assert all(rows > 0 for rows in views[True]["materialized"].values())


def test_dbt_in_this_process_streams_its_lines_and_fails_with_dbts_message(tmp_path):
    env = {
        **os.environ,
        "RETAIL_DUCKDB_PATH": str(tmp_path / "w.duckdb"),
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
    }
    process = DbtInThisProcess(["dbt", "run-operation", "no_such_macro"], env, DBT_PROJECT_DIR)
    lines = iter(process.stdout)
    first = next(lines)
    assert process.returncode is None  # dbt's lines arrive while it runs, as a subprocess's
    assert process.wait() != 0
    assert b"no_such_macro" in first + b"".join(lines)
    assert os.environ.get("DBT_LOG_PATH") != env["DBT_LOG_PATH"]  # the environment is restored


def test_dbt_runs_in_the_process_unless_the_environment_says_subprocess(monkeypatch):
    monkeypatch.delenv("RETAIL_DBT_IN_PROCESS", raising=False)
    assert dbt_resource().in_process
    monkeypatch.setenv("RETAIL_DBT_IN_PROCESS", "false")
    assert not dbt_resource().in_process
    monkeypatch.setenv("RETAIL_DBT_IN_PROCESS", "sometimes")
    with pytest.raises(ValueError, match="RETAIL_DBT_IN_PROCESS must be true or false"):
        dbt_resource()


def test_relative_dbt_paths_resolve_in_the_project_folder_as_for_a_subprocess(tmp_path):
    """A dbt subprocess runs in the project folder; in the process, a relative log path
    would otherwise land under whatever folder the run worker started in."""
    env = {"DBT_LOG_PATH": "target/local/run-1", "DBT_TARGET_PATH": "/abs/target", "HOME": "x"}
    assert paths_from(tmp_path, env) == {"DBT_LOG_PATH": str(tmp_path / "target/local/run-1")}


@pytest.mark.parametrize("in_process", [True, False], ids=["in_process", "subprocess"])
def test_the_resource_gives_dbt_its_settings_without_writing_the_environment(
    tmp_path, monkeypatch, in_process
):
    """The warehouse path reaches dbt through the invocation, so it holds for the whole
    invocation, also when dbt runs on after cli() returned (in this process, on a thread);
    the invocation's folder is under this target's dbt folder; os.environ is left as it was."""
    monkeypatch.delenv("RETAIL_DUCKDB_PATH", raising=False)
    monkeypatch.delenv("DBT_TARGET_PATH", raising=False)
    database = tmp_path / "w.duckdb"
    before = dict(os.environ)
    dbt = dbt_resource(in_process=in_process, dbt_env={"RETAIL_DUCKDB_PATH": str(database)})
    invocation = dbt.cli(["debug"], raise_on_error=False)
    try:
        invocation.wait()  # (in the process, dbt's thread has its environment until it ends)
    finally:
        shutil.rmtree(invocation.target_path, ignore_errors=True)
    assert invocation.is_successful()
    assert database.exists()  # dbt debug connected to it
    assert invocation.target_path.parent == DBT_PROJECT_DIR / "target" / "local"
    assert dict(os.environ) == before
