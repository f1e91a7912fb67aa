"""Production on loopback: deploy/dagster.yaml on a real PostgreSQL server, compute logs in a
fake-gcs-server bucket, and the deployment's processes (code server, daemon, webserver) each
on its own, driven through the webserver's GraphQL API as an operator's UI would."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from datetime import date, timedelta

import dagster as dg
import pytest

from retail_platform.lib.dead_runs import DEAD_RUN_MESSAGE
from retail_platform.lib.landing_zone import GCSLandingZone
from retail_platform.lib.simulator import FaultConfig, SimulationConfig, simulate
from retail_platform.lib.targets import PROJECT_ROOT, WAREHOUSE_POOL
from retail_platform.settings import WEBHOOK_ENV
from retail_platform_tests.helpers.emulators import free_port
from retail_platform_tests.helpers.postgres import PostgresServer
from retail_platform_tests.helpers.production import (
    GraphQL,
    Process,
    clean_environment,
    compose_commands,
    production_home,
    wait_until,
)
from retail_platform_tests.helpers.webhook_receiver import WebhookReceiver

pytestmark = [pytest.mark.production, pytest.mark.gcs, pytest.mark.bigquery]


@pytest.fixture(scope="module")
def postgres():
    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture
def home(tmp_path, postgres, fake_gcs):
    """A DAGSTER_HOME with deploy/dagster.yaml, its own database and compute log bucket; the
    environment the deployment's processes get."""
    server, client = fake_gcs
    bucket = f"compute-logs-{uuid.uuid4().hex[:10]}"
    client.create_bucket(bucket)
    return {**clean_environment(), **production_home(tmp_path, postgres, server.url, bucket)}


# A run's process as the DefaultRunLauncher starts one, reduced to what matters here: it
# records the run, claims the warehouse pool's one slot through the instance's event log
# storage as Dagster's executor does (the pool created at the instance's default limit
# first, taking the run's lease), says so, and works until it is killed.
HOLDER = textwrap.dedent(
    """
    import sys, time
    import dagster as dg
    with dg.DagsterInstance.get() as instance:
        run = dg.DagsterRun(job_name="daily_pipeline", run_id=sys.argv[1],
                            status=dg.DagsterRunStatus.STARTED)
        instance.add_run(run)
        instance.event_log_storage.initialize_concurrency_limit_to_default("warehouse")
        status = instance.event_log_storage.claim_concurrency_slot(
            "warehouse", run.run_id, "raw__orders")
        print("claimed" if status.is_claimed else "refused", flush=True)
        time.sleep(600)
    """
)


def test_the_production_instance_frees_the_slot_of_a_run_killed_mid_step(
    home, monkeypatch, tmp_path
):
    """The slot-reclaiming mixin on Postgres: a live holder keeps the slot, a killed one
    loses it at the next claim, and its run is marked failed."""
    for name, value in home.items():
        monkeypatch.setenv(name, value)
    dead_run = str(uuid.uuid4())
    errors = tmp_path / "holder.err"
    with open(errors, "w") as stderr:
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLDER, dead_run],
            env=home,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            start_new_session=True,
        )
    try:
        ready, _, _ = select.select([holder.stdout], [], [], 120)
        said = holder.stdout.readline().strip() if ready else "nothing within 120 s"
        assert said == "claimed", said + errors.read_text()[-3000:]
        with dg.DagsterInstance.get() as instance:
            storage = instance.event_log_storage
            assert type(storage).__name__ == "SlotReclaimingPostgresEventLogStorage"
            waiting = instance.add_run(
                dg.DagsterRun(job_name="daily_pipeline", status=dg.DagsterRunStatus.STARTED)
            )
            # The holder is alive: its slot stays its own.
            refused = storage.claim_concurrency_slot(WAREHOUSE_POOL, waiting.run_id, "raw__orders")
            assert not refused.is_claimed
            assert instance.get_run_by_id(dead_run).status == dg.DagsterRunStatus.STARTED

            os.killpg(holder.pid, signal.SIGKILL)  # out of memory, a container restart
            holder.wait(timeout=10)
            claimed = storage.claim_concurrency_slot(WAREHOUSE_POOL, waiting.run_id, "raw__orders")

            assert claimed.is_claimed
            dead = instance.get_run_by_id(dead_run)
            assert dead.status == dg.DagsterRunStatus.FAILURE
            failure = instance.all_logs(dead_run, of_type=dg.DagsterEventType.RUN_FAILURE)
            assert DEAD_RUN_MESSAGE.split("{")[0] in failure[-1].message
            storage.free_concurrency_slots_for_run(waiting.run_id)
    finally:
        if holder.poll() is None:
            os.killpg(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)


def test_the_production_event_log_keeps_its_connection_and_batches(home, monkeypatch):
    """A run's events on the production instance reuse one Postgres connection (the stock
    storage opens one per statement: 15 ms each, benchmarks/bench_instance.py) and a batch
    of materializations is stored as one: DAGSTER_EVENT_BATCH_SIZE is on."""
    import sqlalchemy

    for name, value in home.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DAGSTER_EVENT_BATCH_SIZE", raising=False)
    with dg.DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        assert os.environ.get("DAGSTER_EVENT_BATCH_SIZE") == "1000"
        connections = []
        sqlalchemy.event.listen(storage._engine, "connect", lambda *_: connections.append(1))
        run = instance.add_run(
            dg.DagsterRun(job_name="daily_pipeline", status=dg.DagsterRunStatus.STARTED)
        )
        for i in range(40):
            instance.report_engine_event(f"event {i}", run)
        stored = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)
    assert [e.message for e in stored] == [f"event {i}" for i in range(40)]
    # One connection kept (a second when two statements overlap), never one per event.
    assert len(connections) <= 2, len(connections)


LOCATION = "retail_platform"
REPOSITORY = "__repository__"
FIRST = date(2025, 1, 1)
BACKFILL_DAYS = 3
NEW_DAY = FIRST + timedelta(days=BACKFILL_DAYS)
# Tiny days: the topology is the point, not the volume.
WORLD = SimulationConfig(seed=21, orders_per_day=15, faults=FaultConfig(bad_rows=0.0))
# A day far from the landed ones: simulate_day refuses it ("not simulating ..."), a step failure.
UNSIMULATABLE_DAY = "2025-03-01"
STARTUP_TIMEOUT = 180  # code server, webserver and daemon up, the code location loaded
RUN_TIMEOUT = 360  # a run through every layer on a busy 2-core machine
SENSOR_TIMEOUT = 150  # a 30 s tick, 10 s for a file to settle, the run's queueing

LAUNCH_RUN = """
mutation($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}"""
RUN_STATUS = """
query($runId: ID!) { runOrError(runId: $runId) { ... on Run { status } } }"""
SENSOR_RUNS = """
query($tags: [ExecutionTag!]) {
  runsOrError(filter: {tags: $tags}) {
    ... on Runs { results { runId status tags { key value } } }
  }
}"""
SET_CURSOR = """
mutation($selector: SensorSelector!, $cursor: String) {
  setSensorCursor(sensorSelector: $selector, cursor: $cursor) {
    __typename
    ... on PythonError { message }
  }
}"""
SENSOR_TICKS = """
query($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    ... on Sensor { sensorState { status ticks(limit: 20) { status } } }
  }
}"""
RELOAD = """
mutation($location: String!) { reloadRepositoryLocation(repositoryLocationName: $location) {
  __typename } }"""
LOCATIONS = """
{ workspaceOrError { ... on Workspace { locationEntries {
    name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }"""


def sensor_selector(name: str) -> dict:
    return {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY, "sensorName": name}


def landing_cursor(landing: GCSLandingZone) -> str:
    """The landing sensor's cursor once it has handled every file landed so far: the sensor
    evaluated here, on the same files, as the daemon's first tick would."""
    from retail_platform.defs.jobs import daily_pipeline
    from retail_platform.defs.landing.sensors import build_landing_sensor

    context = dg.build_sensor_context(resources={"landing_zone": landing})
    result = build_landing_sensor(daily_pipeline)(context)
    assert len(result.run_requests) == BACKFILL_DAYS
    return context.cursor


def sales_days(bigquery) -> list[str]:
    """The days the BigQuery emulator's daily sales mart holds."""
    sql = "SELECT DISTINCT transaction_date FROM retail_marts.agg_daily_sales ORDER BY 1"
    return [str(row[0]) for row in bigquery.client().query(sql)]


class Deployment:
    """The code server, webserver and daemon of deploy/compose/compose.yaml on deploy/dagster.yaml,
    each its own process, on loopback ports."""

    def __init__(self, env: dict[str, str], root) -> None:
        self.env, self.root = env, root
        self.processes: list[Process] = []
        self.code_port, self.web_port = free_port(), free_port()
        self.graphql = GraphQL(f"http://127.0.0.1:{self.web_port}/graphql")
        loopback = compose_commands(self.code_port, self.web_port)
        self.commands = loopback.commands
        self.env.update(loopback.env)  # deploy/workspace.yaml's code server address

    def start(self, service: str) -> Process:
        """compose.yaml's command of ``service``, rewritten for loopback."""
        process = Process(service, self.commands[service], self.env, self.root)
        self.processes.append(process)
        return process

    def wait(self, what: str, condition, timeout: float, interval: float = 1.0):
        return wait_until(what, condition, timeout, self.processes, interval)

    def location_loaded(self) -> bool:
        """Whether the webserver has the code location; while the code server still loads it,
        the webserver has an error for it instead: reload it, as the UI's "Reload" does."""
        if not self.graphql.reachable():
            return False
        [entry] = self.graphql(LOCATIONS)["workspaceOrError"]["locationEntries"]
        loaded = (entry["locationOrLoadError"] or {}).get("__typename") == "RepositoryLocation"
        if entry["loadStatus"] == "LOADED" and not loaded:
            self.graphql(RELOAD, {"location": LOCATION})
        return entry["loadStatus"] == "LOADED" and loaded

    def launch(self, job: str, tags: dict[str, str], run_config: dict | None = None) -> str:
        params = {
            "selector": {
                "repositoryLocationName": LOCATION,
                "repositoryName": REPOSITORY,
                "jobName": job,
            },
            "runConfigData": run_config or {},
            "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]},
        }
        launched = self.graphql(LAUNCH_RUN, {"params": params})["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        return launched["run"]["runId"]

    def status(self, run_id: str) -> str:
        return self.graphql(RUN_STATUS, {"runId": run_id})["runOrError"]["status"]

    def wait_for_run(self, run_id: str, timeout: float) -> str:
        finished = {"SUCCESS", "FAILURE", "CANCELED"}
        return self.wait(
            f"run {run_id} to finish",
            lambda: (status := self.status(run_id)) in finished and status,
            timeout,
            interval=3,
        )

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


def test_production_topology_on_loopback(home, tmp_path, fake_gcs, gcs_zone, bigquery_env):
    """deploy/dagster.yaml on Postgres, with compose.yaml's code server, daemon and webserver as
    separate processes on the BigQuery target (the BigQuery emulator; the landing bucket and
    the compute log bucket in fake-gcs-server): a three-day range run launched through
    GraphQL succeeds; a new day's files in the bucket make the daemon's landing sensor run
    that day and the marts gain it; a failed run is posted to the alert webhook with its id
    and link; step logs land in the GCS bucket."""
    _, gcs = fake_gcs
    landing = gcs_zone
    simulate(landing, WORLD, start=FIRST, days=BACKFILL_DAYS)
    receiver = WebhookReceiver()
    env = {
        **home,
        # This checkout's code in every process, whatever the venv has installed.
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])
        ),
        "PYTHONUNBUFFERED": "1",
        # compose.yaml's target; the emulator runs no BigQuery ML: the sklearn churn engine.
        "RETAIL_TARGET": "bigquery",
        "RETAIL_CHURN_ENGINE": "sklearn",
        "GCP_PROJECT": bigquery_env.project,
        **bigquery_env.env(),  # the emulator's address, a never-expiring token as ADC
        "RETAIL_LANDING_BUCKET": landing.bucket,
        "RETAIL_LANDING_PREFIX": landing.prefix,
        "RETAIL_START_DATE": FIRST.isoformat(),
        "RETAIL_DATA_DIR": str(tmp_path / "data"),
        "RETAIL_DASHBOARD_DIR": str(tmp_path / "dashboard"),
        "RETAIL_MODEL_DIR": str(tmp_path / "models"),
        WEBHOOK_ENV: receiver.url,
    }
    # The bigquery target's manifest, built before any process loads the code location (which
    # never parses the dbt project), as the image builds it (deploy/image/Containerfile).
    build = "from retail_platform.defs.transforms.project import ensure_manifest; ensure_manifest()"
    subprocess.run([sys.executable, "-c", build], env=env, cwd=PROJECT_ROOT, check=True)
    deployment = Deployment(env, tmp_path)
    env["DAGSTER_WEBSERVER_URL"] = f"http://127.0.0.1:{deployment.web_port}"
    started = time.monotonic()
    try:
        # 1. The code location in its own gRPC server; the webserver and (after the landing
        #    sensor's cursor is placed past the files the range run will load) the daemon.
        deployment.start("code-server")
        deployment.start("webserver")
        deployment.wait(
            "the code location to load", deployment.location_loaded, STARTUP_TIMEOUT, interval=3
        )
        placed = deployment.graphql(
            SET_CURSOR,
            {"selector": sensor_selector("landing_sensor"), "cursor": landing_cursor(landing)},
        )["setSensorCursor"]
        assert placed["__typename"] == "Sensor", placed
        deployment.start("daemon")
        phases = {"processes up": time.monotonic() - started}

        # 2. Three days as one run, launched as the UI launches it (range tags).
        backfill = deployment.launch(
            "daily_pipeline",
            {
                "dagster/asset_partition_range_start": FIRST.isoformat(),
                "dagster/asset_partition_range_end": (NEW_DAY - timedelta(days=1)).isoformat(),
            },
        )

        # 3. A run that fails (a step refuses its partition), once the failure alert sensor
        #    has ticked: its first tick places its cursor, later failures are alerted.
        def alert_sensor_ticked() -> bool:
            state = deployment.graphql(
                SENSOR_TICKS, {"selector": sensor_selector("run_failure_alert")}
            )["sensorOrError"]["sensorState"]
            assert state["status"] == "RUNNING", state
            return bool(state["ticks"])

        deployment.wait("run_failure_alert's first tick", alert_sensor_ticked, STARTUP_TIMEOUT)
        failing = deployment.launch("simulate_day", {"dagster/partition": UNSIMULATABLE_DAY})

        assert deployment.wait_for_run(backfill, RUN_TIMEOUT) == "SUCCESS", "\n".join(
            p.tail() for p in deployment.processes
        )
        phases["range run"] = time.monotonic() - started
        assert sales_days(bigquery_env) == [
            (FIRST + timedelta(days=i)).isoformat() for i in range(BACKFILL_DAYS)
        ]
        # Step logs went to the bucket (GCSComputeLogManager against fake-gcs-server).
        logs = [blob.name for blob in gcs.list_blobs(home["DAGSTER_COMPUTE_LOGS_BUCKET"])]
        assert any(backfill in name for name in logs), logs

        # 4. The next day lands; the daemon's landing sensor runs it; the marts gain the day.
        simulate(landing, WORLD, start=NEW_DAY, days=1)

        def sensor_run() -> dict | None:
            runs = deployment.graphql(
                SENSOR_RUNS, {"tags": [{"key": "dagster/partition", "value": NEW_DAY.isoformat()}]}
            )["runsOrError"]["results"]
            return next(iter(runs), None)

        day_run = deployment.wait("the landing sensor's run", sensor_run, SENSOR_TIMEOUT, 3)
        tags = {tag["key"]: tag["value"] for tag in day_run["tags"]}
        assert tags["dagster/sensor_name"] == "landing_sensor"
        assert deployment.wait_for_run(day_run["runId"], RUN_TIMEOUT) == "SUCCESS"
        assert sales_days(bigquery_env)[-1] == NEW_DAY.isoformat()
        phases["sensor run"] = time.monotonic() - started

        # 5. The failed run reached the webhook: its id, its link, what failed.
        assert deployment.wait_for_run(failing, RUN_TIMEOUT) == "FAILURE"
        alert = deployment.wait(
            f"the alert for run {failing}", lambda: receiver.wait_for(failing, 0), SENSOR_TIMEOUT
        )
        assert f"{env['DAGSTER_WEBSERVER_URL']}/runs/{failing}" in alert
        assert "job simulate_day" in alert and f"partition {UNSIMULATABLE_DAY}" in alert
        assert f"• write_simulated_day: not simulating {UNSIMULATABLE_DAY}" in alert
        # The successful runs were not alerted (they had no failed ERROR check), and no alert
        # sensor's tick failed on Postgres (the freshness sensor read the changes the
        # daemon's freshness evaluation wrote for the new materializations).
        assert not [t for t in receiver.texts() if backfill in t or day_run["runId"] in t]
        for name in ("run_failure_alert", "check_failure_alert", "freshness_alert"):
            state = deployment.graphql(SENSOR_TICKS, {"selector": sensor_selector(name)})
            ticks = state["sensorOrError"]["sensorState"]["ticks"]
            assert ticks and all(t["status"] != "FAILURE" for t in ticks), (name, ticks)
        phases["alert"] = time.monotonic() - started
        print("topology test, seconds since start:", {k: round(v) for k, v in phases.items()})
    finally:
        deployment.stop()
        receiver.stop()
