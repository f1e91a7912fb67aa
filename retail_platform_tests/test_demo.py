"""Issue 20, part 4: the demo tells the story of today.

The days it picks for a given today (and what it does with a landing zone that holds an
older demo), where the partitions start, and one real ``retail-platform demo`` over a few
days: its terminal output (a line per step), its log file (Dagster's debug stream), and its
run as the webserver lists it, asked over GraphQL from a real ``dagster-webserver``."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from contextlib import suppress
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from retail_platform.defs.simulate.jobs import simulate_day_job
from retail_platform.demo import DemoError, Plan, Window, default_window, plan_demo
from retail_platform.lib.landing_zone import LocalLandingZone
from retail_platform.lib.partitions import record_data_start, resolve_start_date
from retail_platform.lib.simulator import (
    DEFAULT_ORDERS_PER_DAY,
    SimulationConfig,
    render,
    simulate_day,
)

ROOT = Path(__file__).resolve().parents[1]
# The code location that workspace.yaml loads, named in pyproject.toml's [tool.dg.project]
# (test_deploy_recipes.py keeps the two equal), and the repository of a Definitions object.
LOCATION = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["dg"]["project"][
    "code_location_name"
]
REPOSITORY = "__repository__"


# ----------------------------------------------------------------------------- the days


def test_the_default_window_is_the_days_ending_yesterday():
    assert default_window(120, today=date(2026, 12, 7)) == Window(
        date(2026, 8, 9), date(2026, 12, 6)
    )
    assert default_window(3, today=date(2024, 3, 1)) == Window(date(2024, 2, 27), date(2024, 2, 29))
    assert default_window(1, today=date(2026, 1, 1)) == Window(
        date(2025, 12, 31), date(2025, 12, 31)
    )


TODAY = date(2026, 12, 7)
WINDOW = Window(date(2026, 8, 9), date(2026, 12, 6))  # the 120 days ending yesterday


def test_an_empty_landing_zone_gets_the_days_ending_yesterday():
    assert plan_demo(None, None, 120, TODAY) == Plan(
        window=WINDOW, simulate=WINDOW, opened_on=date(2026, 8, 9)
    )


def test_a_demo_made_today_is_reused_and_one_made_last_week_is_continued_to_yesterday():
    assert plan_demo(WINDOW, None, 120, TODAY) == Plan(
        window=WINDOW, simulate=None, opened_on=date(2026, 8, 9), landed=WINDOW
    )
    last_week = Window(date(2026, 8, 2), date(2026, 11, 29))
    assert plan_demo(last_week, None, 120, TODAY) == Plan(
        window=WINDOW,
        simulate=Window(date(2026, 11, 30), date(2026, 12, 6)),
        opened_on=date(2026, 8, 2),
        landed=last_week,
    )
    # a shop that opened inside the window: from its opening day
    recent = Window(date(2026, 11, 1), date(2026, 12, 1))
    assert plan_demo(recent, None, 120, TODAY) == Plan(
        window=Window(date(2026, 11, 1), date(2026, 12, 6)),
        simulate=Window(date(2026, 12, 2), date(2026, 12, 6)),
        opened_on=date(2026, 11, 1),
        landed=recent,
    )


def test_an_older_demo_is_run_as_it_is_with_its_own_first_day():
    demo_of_2025 = Window(date(2025, 1, 1), date(2025, 4, 30))  # make demo before part 4
    assert plan_demo(demo_of_2025, None, 120, TODAY) == Plan(
        window=demo_of_2025,
        simulate=None,
        opened_on=date(2025, 1, 1),
        landed=demo_of_2025,
        earlier=True,
    )
    a_year = Window(date(2025, 1, 1), date(2025, 12, 31))
    assert plan_demo(a_year, None, 30, TODAY).window == Window(
        date(2025, 12, 2), date(2025, 12, 31)
    )


def test_start_and_days_choose_other_days():
    assert plan_demo(None, date(2025, 5, 1), 10, TODAY) == Plan(
        window=Window(date(2025, 5, 1), date(2025, 5, 10)),
        simulate=Window(date(2025, 5, 1), date(2025, 5, 10)),
        opened_on=date(2025, 5, 1),
    )
    landed = Window(date(2025, 5, 1), date(2025, 5, 10))
    assert plan_demo(landed, date(2025, 5, 6), 10, TODAY) == Plan(
        window=Window(date(2025, 5, 6), date(2025, 5, 15)),
        simulate=Window(date(2025, 5, 11), date(2025, 5, 15)),
        opened_on=date(2025, 5, 1),
        landed=landed,
    )
    assert plan_demo(None, TODAY, 1, TODAY).window == Window(TODAY, TODAY)  # today is a day


@pytest.mark.parametrize(
    ("landed", "start", "days", "says"),
    [
        (None, date(2026, 12, 1), 10, "ends on 2026-12-10, after today (2026-12-07, UTC)"),
        (WINDOW, date(2026, 8, 1), 10, "the landing zone's shop opened on 2026-08-09"),
        (WINDOW, date(2026, 12, 8), 1, "ends on 2026-12-08, after today"),
        (
            Window(date(2025, 1, 1), date(2025, 4, 30)),
            date(2025, 5, 3),
            5,
            "days cannot be skipped (customers sign up every day): start on or before 2025-05-01",
        ),
    ],
)
def test_days_the_demo_cannot_run_over_are_refused_in_one_line(landed, start, days, says):
    with pytest.raises(DemoError) as refused:
        plan_demo(landed, start, days, TODAY)
    assert says in str(refused.value) and "\n" not in str(refused.value)


# ----------------------------------------------------------------------------- partitions


def test_the_partitions_start_on_the_recorded_first_day_unless_retail_start_date_is_set(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("RETAIL_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("RETAIL_LANDING", raising=False)
    monkeypatch.delenv("RETAIL_START_DATE")  # conftest pins it; here the default is tested
    assert resolve_start_date() == ("2025-01-01", "the default")

    assert record_data_start(date(2026, 8, 9), str(tmp_path / "landing"))
    assert json.loads((tmp_path / "demo.json").read_text())["first_day"] == "2026-08-09"
    first, source = resolve_start_date()
    assert first == "2026-08-09" and str(tmp_path / "demo.json") in source
    assert not record_data_start(date(2026, 8, 9), str(tmp_path / "landing"))  # unchanged

    monkeypatch.setenv("RETAIL_START_DATE", "2025-06-01")  # explicit: it wins
    assert resolve_start_date() == ("2025-06-01", "RETAIL_START_DATE")

    monkeypatch.delenv("RETAIL_START_DATE")
    monkeypatch.setenv("RETAIL_LANDING", str(tmp_path / "another"))  # not the recorded zone
    assert resolve_start_date() == ("2025-01-01", "the default")


def test_a_code_location_loaded_after_the_record_starts_its_partitions_there(tmp_path):
    """The module-level partitions definition, in a fresh interpreter as a code server has."""
    env = _environment(tmp_path)
    env.pop("RETAIL_START_DATE")
    code = (
        "import datetime; from retail_platform.lib.partitions import record_data_start, "
        "landing_uri; record_data_start(datetime.date(2026, 8, 9), landing_uri())"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, timeout=120)
    first = subprocess.run(
        [sys.executable, "-c", "from retail_platform.lib.partitions import "
         "transaction_date_partitions as p; print(p.start.date(), p.end_offset)"],
        cwd=ROOT, env=env, check=True, timeout=120, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    assert first == ["2026-08-09", "1"]
    explicit = {**env, "RETAIL_START_DATE": "2026-01-01"}
    first = subprocess.run(
        [sys.executable, "-c", "from retail_platform.lib.partitions import "
         "transaction_date_partitions as p; print(p.start.date())"],
        cwd=ROOT, env=explicit, check=True, timeout=120, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    assert first == "2026-01-01"


# ----------------------------------------------------------------------------- a real demo

FROZEN_TODAY = date(2025, 3, 8)  # the demo's days (and so its data) do not change by the day
DEMO_WINDOW = Window(date(2025, 3, 2), date(2025, 3, 7))  # 6 days ending the day before
# The demo's entry point with its clock frozen at FROZEN_TODAY (as freezegun would).
FROZEN_DEMO = (
    "import datetime, sys; import retail_platform.demo as demo; "
    f"demo.utc_today = lambda: datetime.date.fromisoformat('{FROZEN_TODAY}'); "
    "from retail_platform.cli import main; sys.exit(main(['demo', *sys.argv[1:]]))"
)


def _environment(root: Path) -> dict[str, str]:
    """This process's environment without the platform's settings, pointed at ``root``."""
    kept = {
        k: v for k, v in os.environ.items() if not k.startswith(("RETAIL_", "DAGSTER_", "DBT_"))
    }
    return {
        **kept,
        "RETAIL_DATA_DIR": str(root),
        "RETAIL_DASHBOARD_DIR": str(root / "dashboard"),
        "DAGSTER_HOME": str(root / "dagster_home"),
        "RETAIL_START_DATE": "2025-01-01",
    }


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> dict:
    """``retail-platform demo --days 6`` on an empty data folder, as a person runs it: its
    own process, the terminal its stdout and stderr, RETAIL_START_DATE unset."""
    root = tmp_path_factory.mktemp("demo")
    env = _environment(root)
    env.pop("RETAIL_START_DATE")
    # Six days at 60 orders: a two-day churn label leaves retained and churned customers to
    # train on; at this volume a day's few dozen shipments can be over 5 % rejects by chance
    # (the reject-rate gate has its own tests).
    env.update({"RETAIL_CHURN_LABEL_DAYS": "2", "RETAIL_MAX_REJECT_RATE": "0.5"})
    completed = subprocess.run(
        [sys.executable, "-c", FROZEN_DEMO, "--days", "6", "--orders-per-day", "60"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    return {
        "root": root,
        "env": env,
        "completed": completed,
        "lines": completed.stdout.splitlines(),
    }


def _run_id(demo: dict) -> str:
    (line,) = [line for line in demo["lines"] if line.startswith("demo done in ")]
    return re.search(r"run ([0-9a-f-]{36}) SUCCESS", line).group(1)


def _log_path(demo: dict) -> Path:
    (line,) = [line for line in demo["lines"] if line.startswith("log: ")]
    return Path(line.rsplit(" ", 1)[1])


def test_the_demo_says_a_line_per_step_and_logs_dagster_to_a_file(demo):
    completed, lines, root = demo["completed"], demo["lines"], demo["root"]
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert completed.stderr == ""
    assert (
        lines[0]
        == "demo: full_backfill over 2025-03-02..2025-03-07 (6 days, ending yesterday, UTC)"
    )
    assert lines[1].startswith(
        f"simulate: 2025-03-02..2025-03-07 (6 days) into {root / 'landing'} ... "
    )
    assert (
        lines[2]
        == f"partitions: 2025-03-02..today (the data's first day, recorded in {root / 'demo.json'})"
    )
    log = _log_path(demo)
    assert log.parent == root / "logs" and log.exists()
    assert lines[3] == f"log: Dagster's debug output goes to {log}"
    home = root / "dagster_home"
    assert (
        lines[4]
        == f"run: full_backfill over 2025-03-02..2025-03-07 as one run (DAGSTER_HOME={home})"
    )

    # a line per step, each as the step finishes: as many as Dagster's debug stream shows
    step_lines = lines[5 : lines.index("")]
    text = log.read_text()
    finished = re.findall(r' - STEP_SUCCESS - Finished execution of step "([^"]+)"', text)
    assert [line.split()[1] for line in step_lines] == finished
    assert all(line.startswith("  done    ") for line in step_lines)
    for step in ("raw__orders", "dbt_partitioned_models", "ml__churn_model", "marts__dashboard"):
        assert step in finished
    (orders,) = [line for line in step_lines if line.split()[1] == "raw__orders"]
    assert "raw/orders, 6 days; checks: " in orders

    # Dagster's debug stream is in the log, not on the terminal
    run_id = _run_id(demo)
    assert f" - DEBUG - full_backfill - {run_id} - " in text and " - RUN_START - " in text
    assert " - DEBUG - " not in completed.stdout and "RUN_START" not in completed.stdout

    # then the summary, and the last line says how it went and where the log is
    assert "rows per table" in lines and "checks (passed / warnings / errors)" in lines
    assert any(line.startswith("churn model ") for line in lines)
    assert "landing_sensor: on, past the files loaded above" in lines
    assert any(line.startswith("dashboard (") for line in lines)
    assert lines[-1].startswith("demo done in ") and lines[-1].endswith(f"(Dagster's log: {log})")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _graphql(port: int, query: str, variables: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.loads(response.read())
    assert "errors" not in answer, answer
    return answer["data"]


@pytest.fixture(scope="module")
def webserver(demo):
    """``dagster-webserver`` (what `make dev` serves) on the demo's instance and workspace."""
    port = _free_port()
    output = open(demo["root"] / "webserver.log", "wb")  # noqa: SIM115 (closed below)
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster-webserver")), "-w", "workspace.yaml",
         "-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT, env=demo["env"], stdin=subprocess.DEVNULL, stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: its code server goes with it
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, (demo["root"] / "webserver.log").read_text()[-3000:]
            with suppress(OSError):
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5)
                break
            assert time.monotonic() < deadline, "the webserver did not answer in 3 minutes"
            time.sleep(1)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        finally:
            with suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGTERM)
            output.close()


# The query of the UI's Jobs > <job> > Runs page (PipelineRunsFeedRoot.tsx): the job's name and
# the code location's repository label, a tag Dagster adds to runs with a code-location origin.
JOB_RUNS = """
query JobRuns($filter: RunsFilter!) {
  runsFeedOrError(limit: 20, filter: $filter, view: RUNS) {
    __typename
    ... on RunsFeedConnection { results { __typename id ... on Run { jobName status } } }
  }
}
"""
# What the Overview timeline reads of a run (useRunsForTimeline.tsx): it leaves out a run
# without a repositoryOrigin.
RUN_ORIGIN = """
query RunOrigin($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run {
      jobName status tags { key value }
      repositoryOrigin { repositoryLocationName repositoryName }
    }
  }
}
"""


def test_the_webserver_lists_the_demo_run_under_its_job(demo, webserver):
    run_id = _run_id(demo)
    job_filter = {
        "pipelineName": "full_backfill",
        "tags": [{"key": ".dagster/repository", "value": f"{REPOSITORY}@{LOCATION}"}],
    }
    feed = _graphql(webserver, JOB_RUNS, {"filter": job_filter})["runsFeedOrError"]
    assert feed["__typename"] == "RunsFeedConnection"
    assert {"__typename": "Run", "id": run_id, "jobName": "full_backfill", "status": "SUCCESS"} in (
        feed["results"]
    )

    run = _graphql(webserver, RUN_ORIGIN, {"runId": run_id})["runOrError"]
    assert run["repositoryOrigin"] == {
        "repositoryLocationName": LOCATION,
        "repositoryName": REPOSITORY,
    }
    tags = {tag["key"]: tag["value"] for tag in run["tags"]}
    assert tags["dagster/asset_partition_range_start"] == "2025-03-02"
    assert tags["dagster/asset_partition_range_end"] == "2025-03-07"


def test_the_partitions_the_webserver_shows_are_the_data_days_and_today(demo, webserver):
    """From the demo's first day (RETAIL_START_DATE unset) to today's partition (UTC)."""
    query = """
    query { assetNodeOrError(assetKey: {path: ["raw", "orders"]}) {
      ... on AssetNode { partitionKeysByDimension { partitionKeys } } } }
    """
    before = datetime.now(UTC).date()
    node = _graphql(webserver, query)["assetNodeOrError"]
    after = datetime.now(UTC).date()
    keys = node["partitionKeysByDimension"][0]["partitionKeys"]
    assert keys[:2] == ["2025-03-02", "2025-03-03"]
    assert keys[-1] in {before.isoformat(), after.isoformat()}


def test_simulate_day_continues_the_shop_of_the_demo(demo, tmp_path):
    """The day after the demo's last, from the UI's simulate_day job: the demo's world."""
    landing = tmp_path / "landing"
    shutil.copytree(demo["root"] / "landing", landing)
    zone = LocalLandingZone(root=str(landing))
    result = simulate_day_job.execute_in_process(
        partition_key=FROZEN_TODAY.isoformat(),
        resources={"landing_zone": zone},
        run_config={"ops": {"write_simulated_day": {"config": {"orders_per_day": 60}}}},
    )
    assert result.success
    demo_world = SimulationConfig(
        orders_per_day=60, opened_on=DEMO_WINDOW.first, world_orders_per_day=DEFAULT_ORDERS_PER_DAY
    )
    for batch in simulate_day(demo_world, FROZEN_TODAY):
        if not (batch.is_late or batch.is_redelivery):
            assert zone.read_bytes(batch.path) == render(batch), batch.path


def test_a_demo_that_fails_says_what_in_one_line_and_where_the_log_is(tmp_path):
    """A code location that does not load: the run never starts."""
    env = {**_environment(tmp_path), "RETAIL_TARGET": "nowhere"}
    completed = subprocess.run(
        [sys.executable, "-c", "import sys; from retail_platform.cli import main; "
         "sys.exit(main(sys.argv[1:]))", "demo", "--start", "2025-01-01", "--days", "1",
         "--orders-per-day", "20"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 1, completed.stdout + completed.stderr
    last = completed.stdout.splitlines()[-1]
    (log,) = (tmp_path / "logs").glob("demo-*.log")
    assert last.startswith("demo FAILED after ") and last.endswith(f"(Dagster's log: {log})")
    assert "full_backfill did not start: RuntimeError: code location " in last
    assert "RETAIL_TARGET must be one of ('local', 'bigquery'), got 'nowhere'" in last
    assert "Traceback" in log.read_text()  # the whole story is in the log
