"""The platform as a user runs it: the simulator's CLI, the simulate_day job from the UI,
and a daily run launched with the job's own executor."""

import os
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from retail_platform.cli import main
from retail_platform.defs.simulate.jobs import simulate_day_job
from retail_platform.instance import INSTANCE_TEMPLATE
from retail_platform.lib.landing_zone import LocalLandingZone
from retail_platform.lib.simulator import (
    DEFAULT_ORDERS_PER_DAY,
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
    assert completed.stderr.count("\n") == 1 and "Traceback" not in completed.stderr
    assert "expected YYYY-MM-DD" in completed.stderr and "'2025-13-01'" in completed.stderr
    assert list(tmp_path.iterdir()) == []


def _one_line_error(capsys, argv: list[str]) -> str:
    """``main(argv)`` fails as a user error: status 2, one line on stderr, no traceback."""
    try:
        status = main(argv)
    except SystemExit as exit_:  # argparse refuses the arguments themselves
        status = exit_.code
    out, err = capsys.readouterr()
    assert status == 2, (status, out, err)
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err and err.startswith(f"retail-platform {argv[0]}: error: "), err
    return err


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--start", "2025-02-30"], "expected YYYY-MM-DD"),
        (["--start", "tomorrow"], "expected YYYY-MM-DD"),
        (["--days", "0"], "argument --days: expected a whole number of 1 or more, got '0'"),
        (["--days", "two"], "argument --days: expected a whole number of 1 or more"),
        (["--orders-per-day", "-5"], "argument --orders-per-day: expected a whole number of 1"),
        (
            ["--malformed-rate", "1.5"],
            "argument --malformed-rate: expected a share between 0 and 1",
        ),
        (["--malformed-rate", "-0.1"], "expected a share between 0 and 1"),
        (["--malformed-rate", "nan"], "expected a share between 0 and 1"),
        (["--seed", "x"], "argument --seed: expected a whole number"),
        (["--format", "xml"], "argument --format: invalid choice"),
    ],
)
def test_cli_says_which_argument_is_wrong_in_one_line(capsys, tmp_path, args, says):
    argv = ["simulate", "--start", "2025-01-01", "--landing", str(tmp_path), *args]
    err = _one_line_error(capsys, argv)
    assert says in err and "--help" in err
    assert list(tmp_path.iterdir()) == []


def test_cli_says_when_the_landing_folder_cannot_be_written(capsys, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    err = _one_line_error(capsys, ["simulate", "--start", "2025-01-01", "--landing", str(afile)])
    assert f"--landing {afile} is a file, not a folder" in err and "folder you can write" in err
    below = afile / "landing"
    err = _one_line_error(capsys, ["simulate", "--start", "2025-01-01", "--landing", str(below)])
    assert f"cannot create --landing {below}" in err and "folder you can write" in err
    err = _one_line_error(
        capsys, ["simulate", "--start", "2025-01-01", "--landing", "/proc/landing"]
    )  # unreachable for anybody, root included
    assert "cannot create --landing /proc/landing" in err


def test_demo_says_when_its_landing_folder_cannot_be_written(capsys, monkeypatch):
    monkeypatch.setenv("RETAIL_LANDING", "/proc/landing")
    err = _one_line_error(capsys, ["demo", "--days", "1"])
    assert "cannot create RETAIL_LANDING /proc/landing" in err


def test_cli_says_when_a_landing_folder_is_read_only(capsys, tmp_path, monkeypatch):
    folder = tmp_path / "landing"
    folder.mkdir()
    folder.chmod(0o555)
    real_access = os.access
    if os.geteuid() == 0:  # root writes anywhere: the check is os.access, simulate a user
        monkeypatch.setattr(
            os, "access", lambda p, mode: Path(p) != folder and real_access(p, mode)
        )
    try:
        argv = ["simulate", "--start", "2025-01-01", "--landing", str(folder)]
        err = _one_line_error(capsys, argv)
    finally:
        folder.chmod(0o755)
    assert f"cannot write to --landing {folder} (permission denied)" in err


def _no_google_credentials(monkeypatch, tmp_path) -> None:
    for name in ("GOOGLE_APPLICATION_CREDENTIALS", "GCP_CREDENTIALS", "STORAGE_EMULATOR_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))  # no gcloud ADC file
    monkeypatch.setenv("NO_GCE_CHECK", "True")  # not on Google Cloud: no metadata server


def test_cli_says_what_to_do_without_google_credentials(capsys, tmp_path, monkeypatch):
    _no_google_credentials(monkeypatch, tmp_path)
    argv = ["simulate", "--start", "2025-01-01", "--landing", "gs://retail-landing/landing"]
    err = _one_line_error(capsys, argv)
    assert (
        "cannot write to --landing gs://retail-landing/landing: no Google Cloud credentials" in err
    )
    assert "GOOGLE_APPLICATION_CREDENTIALS" in err and "GCP_CREDENTIALS" in err

    monkeypatch.setenv("GCP_CREDENTIALS", "not base64 !")
    err = _one_line_error(capsys, argv)
    assert "GCP_CREDENTIALS is not valid base64" in err and "not base64 !" not in err

    err = _one_line_error(capsys, ["simulate", "--start", "2025-01-01", "--landing", "gs://"])
    assert "expected gs://BUCKET[/PREFIX]" in err


def test_cli_says_when_cloud_storage_cannot_be_reached(capsys, tmp_path, monkeypatch):
    _no_google_credentials(monkeypatch, tmp_path)
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "http://127.0.0.1:9")  # nobody listens there
    argv = ["simulate", "--start", "2025-01-01", "--landing", "gs://retail-landing/landing"]
    err = _one_line_error(capsys, argv)
    assert "cannot reach --landing gs://retail-landing/landing: no connection to " in err
    assert "http://127.0.0.1:9 (ConnectionError): check the network and retry" in err


def test_cli_simulates_into_a_bucket_and_says_when_there_is_none(capsys, gcs_zone):
    landing = f"gs://{gcs_zone.bucket}/{gcs_zone.prefix}"  # on fake-gcs-server
    argv = ["simulate", "--start", "2025-01-01", "--orders-per-day", "20", "--quiet"]
    assert main([*argv, "--landing", landing]) == 0
    assert "stores/transaction_date=2025-01-01/batch-20250101-main.jsonl" in {
        f.path for f in gcs_zone.list_files("stores")
    }
    capsys.readouterr()
    err = _one_line_error(capsys, [*argv, "--landing", "gs://no-such-bucket-here/landing"])
    assert "cannot reach --landing gs://no-such-bucket-here/landing: the bucket does not " in err


def test_cli_refuses_days_that_do_not_follow_the_landed_ones(capsys, tmp_path):
    landing = ["--landing", str(tmp_path), "--quiet", "--orders-per-day", "20"]
    assert main(["simulate", "--start", "2025-01-01", "--days", "2", *landing]) == 0
    err = _one_line_error(capsys, ["simulate", "--start", "2024-12-31", *landing])
    assert "the simulated shop opens on 2025-01-01: start on 2025-01-01 or later" in err
    err = _one_line_error(capsys, ["simulate", "--start", "2025-01-05", *landing])
    assert f"{tmp_path} holds no files for 2025-01-04" in err
    assert main(["simulate", "--start", "2025-01-03", *landing]) == 0  # the next day: fine
    err = _one_line_error(capsys, ["simulate", "--start", "2025-01-05", *landing])
    assert "holds no files for 2025-01-04" in err
    landed = {f.partition_date for f in LocalLandingZone(root=str(tmp_path)).list_files()}
    assert landed == {date(2025, 1, 1), date(2025, 1, 2), date(2025, 1, 3)}


def test_cli_opens_a_new_shop_on_the_first_day_of_an_empty_landing_zone(capsys, tmp_path):
    """Any day opens a shop in an empty landing zone (make demo's 120 days ending yesterday
    do); the days after it continue that shop, the world of its opening day."""
    landing = ["--landing", str(tmp_path), "--quiet", "--orders-per-day", "20"]
    opened = date(2026, 3, 10)
    assert main(["simulate", "--start", "2026-03-10", "--days", "2", *landing]) == 0
    assert main(["simulate", "--start", "2026-03-12", *landing]) == 0
    zone = LocalLandingZone(root=str(tmp_path))
    assert {f.partition_date for f in zone.list_files("stores")} == {opened}
    config = SimulationConfig(
        orders_per_day=20, opened_on=opened, world_orders_per_day=DEFAULT_ORDERS_PER_DAY
    )
    (orders,) = [b for b in simulate_day(config, date(2026, 3, 12)) if b.entity == "orders"
                 and b.batch_id.endswith("-main")]  # fmt: skip
    assert zone.read_bytes(orders.path) == render(orders)
    assert "note:" not in capsys.readouterr().out  # 2026 is inside the tests' partitions


def test_cli_says_when_days_fall_before_the_first_partition(capsys, tmp_path):
    argv = ["simulate", "--start", "2024-12-30", "--landing", str(tmp_path), "--quiet",
            "--orders-per-day", "20"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    # conftest pins RETAIL_START_DATE to 2025-01-01
    assert (
        "note: the partitions start on 2025-01-01: days before it are not loaded (the landing "
        "sensor quarantines their files); set RETAIL_START_DATE=2024-12-30 for them"
    ) in out


@pytest.mark.parametrize("command", ["simulate", "demo"])
def test_cli_help_shows_every_default(capsys, monkeypatch, command):
    monkeypatch.setenv("RETAIL_LANDING", "/somewhere/landing")
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    expected = {
        "simulate": [
            "--start START first transaction_date, YYYY-MM-DD (required)",
            "--days DAYS days to simulate (default: 1)",
            f"average orders a day (weekdays, holidays and noise vary it; ~3 lines an order) "
            f"(default: {DEFAULT_ORDERS_PER_DAY})",
            "--seed SEED same seed, same files (default: 42)",
            "(RETAIL_LANDING) (default: /somewhere/landing)",
            "file format (default: jsonl)",
            "is malformed (default: 0.0)",
            "--no-faults switch fault injection off",
        ],
        "demo": [
            "--start START first day, YYYY-MM-DD (default: the DAYS days ending yesterday, UTC)",
            "--days DAYS days to run over (default: 120)",
            f"average orders a day (default: {DEFAULT_ORDERS_PER_DAY})",
            "--seed SEED same seed, same files (default: 42)",
        ],
    }[command]
    for fragment in expected:
        assert fragment in text, fragment
    listed = text.split(" options: ", 1)[1]
    options = {o for o in re.findall(r"(--[a-z-]+)", listed) if o != "--help"}
    assert len(options) == {"simulate": 9, "demo": 4}[command], options
    for option in options:  # every option documents its default, or that it has none
        described = listed.split(f"{option} ", 1)[1].split(" --", 1)[0]
        assert "(default: " in described or "(required)" in described \
            or option in ("--no-faults", "--quiet"), option  # fmt: skip


def test_simulate_day_job_writes_that_days_files(tmp_path):
    zone = LocalLandingZone(root=str(tmp_path))
    for day in ("2025-01-01", "2025-01-02"):
        result = simulate_day_job.execute_in_process(
            partition_key=day,
            resources={"landing_zone": zone},
            run_config={"ops": {"write_simulated_day": {"config": {"orders_per_day": 30}}}},
        )
        assert result.success
    # the day of the CLI at the same volume: the same world, the same files
    config = SimulationConfig(orders_per_day=30, world_orders_per_day=DEFAULT_ORDERS_PER_DAY)
    main_ = next(b for b in simulate_day(config, date(2025, 1, 2)) if b.entity == "orders"
                 and b.batch_id.endswith("-main"))  # fmt: skip
    assert zone.read_bytes(main_.path) == render(main_)


def test_simulate_day_job_refuses_a_day_after_a_gap(tmp_path):
    zone = LocalLandingZone(root=str(tmp_path))
    small = {"ops": {"write_simulated_day": {"config": {"orders_per_day": 20}}}}
    assert simulate_day_job.execute_in_process(
        partition_key="2025-01-01", resources={"landing_zone": zone}, run_config=small
    ).success
    result = simulate_day_job.execute_in_process(
        partition_key="2025-01-03", resources={"landing_zone": zone}, run_config=small,
        raise_on_error=False,
    )  # fmt: skip
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.user_failure_data.description
    assert message.startswith("not simulating 2025-01-03: ")
    assert "holds no files for 2025-01-02" in message
    assert {f.partition_date for f in zone.list_files()} == {date(2025, 1, 1)}


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
