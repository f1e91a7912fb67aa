from __future__ import annotations

import os

# Tests keep fixed dates: the partitions start on 2025-01-01 whatever `make demo` recorded for
# this checkout's data/ (lib/partitions.py reads it when RETAIL_START_DATE is unset). Set
# before anything imports retail_platform.lib.partitions, which reads it at import.
os.environ["RETAIL_START_DATE"] = "2025-01-01"

# Importing the code location never parses the dbt project (defs/transforms/project.py):
# build its manifest now when it is missing or older than an edited model, before the
# imports below load the definitions.
from retail_platform.defs.transforms.project import ensure_manifest  # noqa: E402

ensure_manifest()

import uuid  # noqa: E402
from datetime import date, timedelta  # noqa: E402

import dagster as dg  # noqa: E402
import pytest  # noqa: E402

from retail_platform.lib.landing_zone import GCSLandingZone, LocalLandingZone  # noqa: E402
from retail_platform.lib.simulator import FaultConfig, SimulationConfig, simulate  # noqa: E402
from retail_platform_tests.helpers.emulators import FakeGCS  # noqa: E402
from retail_platform_tests.helpers.local_platform import LocalPlatform  # noqa: E402


@pytest.fixture(scope="session")
def fake_gcs():
    """One fake-gcs-server for the session, speaking the real GCS JSON API."""
    server = FakeGCS()
    client = server.client()
    yield server, client
    server.stop()


@pytest.fixture(scope="session")
def bigquery_emulator():
    """One bqemulator for the session, speaking the BigQuery REST API (its venv is built
    from retail_platform_tests/helpers/bqemulator/requirements.txt on first use)."""
    from retail_platform_tests.helpers.bqemulator import BigQueryEmulator

    emulator = BigQueryEmulator()
    yield emulator
    emulator.stop()


@pytest.fixture
def bigquery_env(bigquery_emulator, monkeypatch):
    """The environment of the BigQuery target pointed at the emulator, for this test, which
    starts with no datasets: tests sharing the emulator do not see each other's tables."""
    client = bigquery_emulator.client()
    for dataset in client.list_datasets():
        client.delete_dataset(dataset.reference, delete_contents=True, not_found_ok=True)
    for name, value in bigquery_emulator.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GCP_PROJECT", bigquery_emulator.project)
    return bigquery_emulator


@pytest.fixture
def gcs_zone(fake_gcs) -> GCSLandingZone:
    """A fresh bucket per test, used through the real google-cloud-storage client."""
    server, client = fake_gcs
    name = f"landing-{uuid.uuid4().hex[:12]}"
    client.create_bucket(name)
    return GCSLandingZone(bucket=name, prefix="landing", project="test-project")


@pytest.fixture
def local_zone(tmp_path) -> LocalLandingZone:
    return LocalLandingZone(root=str(tmp_path / "landing"))


@pytest.fixture(params=["local", "gcs"])
def zone(request, tmp_path):
    """Both landing zone implementations, for tests that must hold for each."""
    if request.param == "local":
        return LocalLandingZone(root=str(tmp_path / "landing"))
    return request.getfixturevalue("gcs_zone")


WEEK_START = date(2025, 1, 1)
WEEK_DAYS = 7


@pytest.fixture(scope="session")
def week(tmp_path_factory) -> LocalPlatform:
    """One simulated week (faults on, no invalid rows), loaded by one single-run backfill.

    Shared by the transform tests: read it, or ``copy_to`` a folder before changing it.
    """
    root = tmp_path_factory.mktemp("week")
    platform = LocalPlatform(landing_root=root / "landing", database=root / "warehouse.duckdb")
    config = SimulationConfig(seed=7, orders_per_day=150, faults=FaultConfig(bad_rows=0.0))
    simulate(platform.landing, config, start=WEEK_START, days=WEEK_DAYS)
    result = platform.run(WEEK_START, WEEK_START + timedelta(days=WEEK_DAYS - 1))
    assert result.success
    return platform


MONTHS_START = date(2025, 1, 1)
MONTHS_DAYS = 120


@pytest.fixture(scope="session")
def months(tmp_path_factory) -> LocalPlatform:
    """Four simulated months (enough for a 60-day churn label window after 60 days of
    features), loaded, transformed, the churn model trained and customers scored: one run.

    Shared by the churn tests: read it, or ``copy_to`` a folder before changing it.
    """
    root = tmp_path_factory.mktemp("months")
    platform = LocalPlatform(landing_root=root / "landing", database=root / "warehouse.duckdb")
    config = SimulationConfig(seed=11, orders_per_day=100, faults=FaultConfig(bad_rows=0.0))
    simulate(platform.landing, config, start=MONTHS_START, days=MONTHS_DAYS)
    last = MONTHS_START + timedelta(days=MONTHS_DAYS - 1)
    result = platform.run(MONTHS_START, last, selection=dg.AssetSelection.all())
    assert result.success
    return platform


@pytest.fixture(scope="session", autouse=True)
def dashboard_dir(tmp_path_factory):
    """Runs of jobs that include marts/dashboard (daily_pipeline, full_backfill) write
    index.html into a temporary folder, never into the working copy's data/dashboard/."""
    folder = tmp_path_factory.mktemp("dashboard")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RETAIL_DASHBOARD_DIR", str(folder))
        yield folder


# The session fixtures that cost minutes to build. Under pytest-xdist (`make test` runs two
# workers) each worker builds every session or module fixture its tests ask for; xdist's
# `loadgroup` keeps a group of tests on one worker. A module's tests form a group (its module
# fixtures are built once), and modules whose tests share one of these fixtures join one.
SHARED_FIXTURES = ("week", "months", "bigquery_emulator")


# `make test-fast` (pytest -m fast): the modules whose tests need no Dagster run of the
# pipeline, no emulator, no browser, no PostgreSQL; under two minutes on two cores. A module
# joins by being listed here, and a test in one still leaves the tier when it asks for an
# emulator or a loaded platform (FAST_EXCLUDES_FIXTURES, a `zone` parameter "gcs") or carries
# a marker of the slow tiers (FAST_EXCLUDES_MARKERS).
FAST_MODULES = (
    "test_benchmark_records",
    "test_bigquery_estimate",
    "test_bqml_statements",
    "test_churn_engine",
    "test_deploy_recipes",
    "test_faults_landing_paths",
    "test_landing_sensor",
    "test_landing_zone",
    "test_layout",
    "test_readme",
    "test_settings",
    "test_simulator",
    "test_sql_macros",
    "test_terraform_least_privilege",
)
FAST_EXCLUDES_FIXTURES = {*SHARED_FIXTURES, "bigquery_env", "fake_gcs", "gcs_zone"}
FAST_EXCLUDES_MARKERS = {"gcs", "bigquery", "slow", "browser", "production", "image"}


def _is_fast(item) -> bool:
    if item.module.__name__.rpartition(".")[2] not in FAST_MODULES:
        return False
    if FAST_EXCLUDES_FIXTURES & set(getattr(item, "fixturenames", ())):
        return False
    if FAST_EXCLUDES_MARKERS & {mark.name for mark in item.iter_markers()}:
        return False
    callspec = getattr(item, "callspec", None)
    return callspec is None or callspec.params.get("zone") != "gcs"


# tryfirst: xdist's own hook, in each worker, reads the groups off the markers; pytest's `-m`
# selects on the `fast` marker after this hook has added it.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items) -> None:
    """The `fast` marker (FAST_MODULES), and one xdist group per set of modules linked by a
    shared session fixture."""
    for item in items:
        if _is_fast(item):
            item.add_marker(pytest.mark.fast)
    if not config.pluginmanager.hasplugin("xdist"):
        return
    parent: dict[str, str] = {}

    def root(node: str) -> str:
        while parent.setdefault(node, node) != node:
            node = parent[node]
        return node

    for item in items:
        for fixture in SHARED_FIXTURES:
            if fixture in getattr(item, "fixturenames", ()):
                parent[root(item.module.__name__)] = root(fixture)
    for item in items:
        item.add_marker(pytest.mark.xdist_group(root(item.module.__name__)))
