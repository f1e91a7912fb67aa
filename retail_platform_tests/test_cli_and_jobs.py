"""The platform as a user runs it: the simulator's CLI, the simulate_day job from the UI,
and a daily run launched with the job's own executor."""

import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg

from retail_platform.defs.simulate.jobs import simulate_day_job
from retail_platform.instance import INSTANCE_TEMPLATE
from retail_platform.lib.landing_zone import LocalLandingZone
from retail_platform.lib.simulator import (
    FaultConfig,
    SimulationConfig,
    render,
    simulate,
    simulate_day,
)

ROOT = Path(__file__).resolve().parents[1]


def test_cli_simulates_days_into_a_landing_folder(tmp_path):
    cli = Path(sys.executable).with_name("retail-platform")
    completed = subprocess.run(
        [str(cli), "simulate", "--start", "2025-01-01", "--days", "2", "--orders-per-day", "40",
         "--landing", str(tmp_path), "--format", "csv", "--quiet"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    zone = LocalLandingZone(root=str(tmp_path))
    paths = {f.path for f in zone.list_files()}
    assert "orders/transaction_date=2025-01-02/batch-20250102-main.csv" in paths
    assert {p.split("/")[0] for p in paths} == {
        "orders", "order_items", "customers", "products", "stores", "employees",
        "payments", "shipments", "inventory",
    }  # fmt: skip


def test_cli_refuses_a_bad_date(tmp_path):
    cli = Path(sys.executable).with_name("retail-platform")
    completed = subprocess.run(
        [str(cli), "simulate", "--start", "2025-13-01", "--landing", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert completed.returncode == 2
    assert "expected YYYY-MM-DD" in completed.stderr


def test_simulate_day_job_writes_that_days_files(tmp_path):
    zone = LocalLandingZone(root=str(tmp_path))
    result = simulate_day_job.execute_in_process(
        partition_key="2025-01-03",
        resources={"landing_zone": zone},
        run_config={"ops": {"write_simulated_day": {"config": {"orders_per_day": 30}}}},
    )
    assert result.success
    config = SimulationConfig(orders_per_day=30)
    main = next(b for b in simulate_day(config, date(2025, 1, 3)) if b.entity == "orders"
                and b.batch_id.endswith("-main"))  # fmt: skip
    assert zone.read_bytes(main.path) == render(main)


def test_the_bigquery_target_of_the_dbt_project_parses(tmp_path):
    dbt = Path(sys.executable).with_name("dbt")
    completed = subprocess.run(
        [str(dbt), "parse", "--project-dir", str(ROOT / "sql"), "--profiles-dir",
         str(ROOT / "sql"), "--target", "bigquery", "--target-path", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "GCP_PROJECT": "example-project"},
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-2000:]
    assert (tmp_path / "manifest.json").exists()


def test_a_daily_run_launched_like_the_ui_runs_every_step_in_one_process(tmp_path, monkeypatch):
    """``dagster job execute`` runs a job with the job's own executor, as a run launched from
    the UI or by the sensor does; the other tests use ``execute_in_process``, which does
    not. Under a process per step, steps start 7-8 s apart and a reconciliation check
    once opened the DuckDB file while dbt held it."""
    day = date(2025, 1, 1)
    config = SimulationConfig(seed=5, orders_per_day=40, faults=FaultConfig(bad_rows=0.0))
    simulate(LocalLandingZone(root=str(tmp_path / "landing")), config, start=day, days=1)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(INSTANCE_TEMPLATE, home / "dagster.yaml")
    env = {
        **{
            k: v for k, v in os.environ.items() if not k.startswith(("RETAIL_", "DAGSTER_", "DBT_"))
        },
        "RETAIL_DATA_DIR": str(tmp_path),
        "RETAIL_START_DATE": day.isoformat(),
        "DAGSTER_HOME": str(home),
    }
    dagster = Path(sys.executable).with_name("dagster")
    completed = subprocess.run(
        [str(dagster), "job", "execute", "-m", "retail_platform.definitions",
         "-j", "daily_pipeline", "--tags", f'{{"dagster/partition": "{day}"}}'],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]

    monkeypatch.setenv("DAGSTER_HOME", str(home))  # where the event log lives
    with dg.DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.SUCCESS
        records = instance.all_logs(run.run_id)
        engine = [
            r.user_message for r in records if r.dagster_event and r.dagster_event.is_engine_event
        ]
        assert any(m.startswith("Executing steps in process") for m in engine), engine
        failed = [
            r.step_key for r in records if r.dagster_event and r.dagster_event.is_step_failure
        ]
        assert failed == []
        for key in (
            ["gold", "fact_sales"],
            ["marts", "agg_daily_sales"],
            ["marts", "customer_health"],
        ):
            assert instance.get_latest_materialization_event(dg.AssetKey(key)) is not None, key
