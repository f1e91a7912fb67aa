"""``make demo``: simulate four months, run every layer over them as one run (the
``full_backfill`` job: raw to marts, churn model trained and customers scored), print
what landed where, the churn model's metrics and how the checks went."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb

from retail_platform.instance import dagster_home
from retail_platform.lib.partitions import start_date
from retail_platform.lib.targets import PROJECT_ROOT, duckdb_path, landing_uri

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def _simulate_if_missing(start: date, days: int, orders_per_day: int, seed: int) -> None:
    from retail_platform.lib.landing_zone import landing_zone_from_uri
    from retail_platform.lib.simulator import DEFAULT_ORDERS_PER_DAY, SimulationConfig, simulate

    zone = landing_zone_from_uri(landing_uri())
    last = start + timedelta(days=days - 1)
    if any(True for _ in zone.list_files("orders", last)):
        print(f"landing zone {zone.uri()} already holds {start}..{last}: reusing it")
        return
    print(f"simulating {days} days from {start} into {zone.uri()} ...")
    # the world of the CLI and the simulate_day job, so they can continue these days
    config = SimulationConfig(
        seed=seed, orders_per_day=orders_per_day, world_orders_per_day=DEFAULT_ORDERS_PER_DAY
    )
    print(simulate(zone, config, start=start, days=days, progress=True))


def table_row_counts(database: str) -> list[tuple[str, int]]:
    with duckdb.connect(database, read_only=True) as connection:
        tables = connection.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema LIKE 'retail_%' ORDER BY 1, 2"
        ).fetchall()
        return [
            (f"{schema}.{table}",
             connection.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()[0])
            for schema, table in tables
        ]  # fmt: skip


def print_churn_model(result) -> None:
    for event in result.get_asset_materialization_events():
        if event.asset_key.path == ["ml", "churn_model"]:
            metadata = {k: v.value for k, v in event.materialization.metadata.items()}
            print(
                f"\nchurn model {metadata['model_version']} ({metadata['engine']}): "
                f"ROC AUC {metadata['roc_auc']:.3f} (floor {metadata['auc_floor']}), "
                f"precision {metadata['precision']:.3f}, recall {metadata['recall']:.3f}, "
                f"{metadata['rows_trained']:,} customers trained, cutoff {metadata['cutoff_date']}"
            )


def print_dashboard(result) -> None:
    """Where marts/dashboard wrote the HTML dashboard (the run's materialization says)."""
    for event in result.get_asset_materialization_events():
        if event.asset_key.path == ["marts", "dashboard"]:
            metadata = {k: v.value for k, v in event.materialization.metadata.items()}
            print(
                f"dashboard ({metadata['charts']} charts, opens offline): "
                f"{metadata['dagster/uri']}\n  {metadata['open in a browser']}"
            )
            return
    print("dashboard: not rendered in this run (see the failures above)")


def print_checks(evaluations) -> None:
    """A line per layer, then every check that did not pass."""
    by_layer: dict[str, list[int]] = {}
    for evaluation in evaluations:
        counts = by_layer.setdefault(evaluation.asset_key.path[0], [0, 0, 0])
        counts[0 if evaluation.passed else 1 if evaluation.severity.value == "WARN" else 2] += 1
    print("\nchecks (passed / warnings / errors)")
    for layer, (passed, warned, failed) in by_layer.items():
        print(f"  {layer:<10} {passed:>4} passed {warned:>4} warnings {failed:>4} errors")
    for evaluation in evaluations:
        if not evaluation.passed:
            name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
            print(f"  {evaluation.severity.value:<5} {name}")
    if any(not e.passed and e.asset_key.path[0] == "raw" for e in evaluations):
        print("  (raw keeps what landed, duplicates included; silver removes them)")


def run_demo(start: date | None, days: int, orders_per_day: int, seed: int) -> int:
    home = dagster_home()
    start = start or date.fromisoformat(start_date())
    end = start + timedelta(days=days - 1)
    _simulate_if_missing(start, days, orders_per_day, seed)

    from dagster import DagsterInstance

    from retail_platform.definitions import defs

    job = defs.resolve_job_def("full_backfill")
    print(f"running full_backfill for {start}..{end} as one run (DAGSTER_HOME={home}) ...")
    with DagsterInstance.get() as instance:
        result = job.execute_in_process(
            instance=instance,
            tags={RANGE_START_TAG: start.isoformat(), RANGE_END_TAG: end.isoformat()},
            raise_on_error=False,
        )
    print(f"\nrun {result.run_id}: {'SUCCESS' if result.success else 'FAILURE'}")
    print("\nrows per table")
    for table, rows in table_row_counts(duckdb_path()):
        print(f"  {table:<40} {rows:>10,}")
    print_churn_model(result)
    print_checks(result.get_asset_check_evaluations())
    _mark_landing_as_seen()
    print("\nopen the UI with `make dev` (http://127.0.0.1:3000)")
    print_dashboard(result)
    return 0 if result.success else 1


def _mark_landing_as_seen() -> None:
    """Move the landing sensor's cursor past the files this demo loaded (and switch the
    sensor on), so `make dev` starts idle and the next file dropped is the next run."""
    from retail_platform.defs.landing.cursor import LandingCursor
    from retail_platform.lib.landing_zone import landing_zone_from_uri

    zone = landing_zone_from_uri(landing_uri())
    cursor = LandingCursor().advanced_past(sorted(zone.list_files())).serialize()
    dagster = str(Path(sys.executable).with_name("dagster"))
    workspace = str(PROJECT_ROOT / "workspace.yaml")
    for command in (["cursor", "landing_sensor", "--set", cursor], ["start", "landing_sensor"]):
        subprocess.run(
            [dagster, "sensor", *command, "-w", workspace],
            cwd=PROJECT_ROOT, check=True, capture_output=True,
        )  # fmt: skip
    print("landing_sensor: on, past the files loaded above")
