"""The simulator as a user runs it: the CLI, and the simulate_day job from the UI."""

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from retail_platform.defs.simulate.jobs import simulate_day_job
from retail_platform.lib.landing_zone import LocalLandingZone
from retail_platform.lib.simulator import SimulationConfig, render, simulate_day

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
