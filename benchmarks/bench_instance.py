"""The Dagster instance under the platform: what the local instance's patches buy, and what
the production instance (PostgreSQL, deploy/dagster.yaml) needs of them.

    python -m benchmarks.bench_instance              # a year's range run, 300 lines/day
    python -m benchmarks.bench_instance --quick      # 30 days, 60 lines/day: proves it runs

Two of the platform's pieces replace Dagster or dagster-dbt behaviour for speed:
``lib/event_log_storage.py`` (SQLite: a batch of asset events in one transaction, kept-open
connections) and the in-process dbt runner (``defs/transforms/in_process.py``). Production
runs on PostgreSQL, whose stock event log (dagster-postgres) already stores a batch with
one INSERT when ``DAGSTER_EVENT_BATCH_SIZE`` is set. Each variant below gets a fresh
instance (its own database) and warehouse, and in one child process:

1. **run creation**: a ``full_backfill`` run over the whole range is created (not executed)
   as a UI backfill creates it, with the range tags: the plan and one "materialization
   planned" event per asset and partition (a year: ~15,700), timed; the run is then deleted;
2. a two-day range run (the tables' first build, not timed);
3. **daily runs**: ``daily_pipeline`` for each of the next ``--daily`` days, one partition per
   run as the landing sensor asks, each timed; the median is reported.

Variants: ``sqlite-patched`` (the local instance, retail_platform/dagster.yaml),
``postgres-stock`` (deploy/dagster.yaml with dagster-postgres' own event log, no batching),
``postgres-batch`` (the same with ``DAGSTER_EVENT_BATCH_SIZE=1000``),
``postgres-production`` (deploy/dagster.yaml's event log: pooled connections, batching on,
slot reclaiming) and the same with dbt as a subprocess (``postgres-dbt-subprocess``,
``RETAIL_DBT_IN_PROCESS=false``). Compute logs stay local (the GCS upload is not
what is measured). ``main(argv)`` returns the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from benchmarks._platform import (
    PROJECT_ROOT,
    Workdir,
    load_average,
    orders_per_day,
    run_child,
)

DEPLOY_INSTANCE = PROJECT_ROOT / "deploy" / "dagster.yaml"
STOCK_POSTGRES_EVENT_LOG = {
    "module": "dagster_postgres.event_log",
    "class": "PostgresEventLogStorage",
}
BATCH = {"DAGSTER_EVENT_BATCH_SIZE": "1000"}
VARIANTS: dict[str, dict[str, Any]] = {
    "sqlite-patched": {"postgres": False, "env": {}},
    "postgres-stock": {"postgres": True, "stock_event_log": True, "env": {}},
    "postgres-batch": {"postgres": True, "stock_event_log": True, "env": BATCH},
    "postgres-production": {"postgres": True, "stock_event_log": False, "env": {}},
    "postgres-dbt-subprocess": {
        "postgres": True,
        "stock_event_log": False,
        "env": {"RETAIL_DBT_IN_PROCESS": "false"},
    },
}
SEED = 5


def postgres_instance_yaml(stock_event_log: bool) -> str:
    """deploy/dagster.yaml with local compute logs and, if asked, the stock Postgres event log.
    Its first line differs from the local template's, so ``dagster_home()`` leaves it."""
    config = yaml.safe_load(DEPLOY_INSTANCE.read_text())
    config.pop("compute_logs")
    if stock_event_log:
        postgres_db = config["event_log_storage"]["config"]["postgres_db"]
        config["event_log_storage"] = {
            **STOCK_POSTGRES_EVENT_LOG,
            "config": {"postgres_db": postgres_db},
        }
    return "# benchmarks/bench_instance.py: deploy/dagster.yaml, compute logs local\n" + (
        yaml.safe_dump(config, sort_keys=False)
    )


def plan(first: date, year_days: int, daily: int) -> list[dict[str, Any]]:
    last_of_range = first + timedelta(days=year_days - 1)
    setup_last = first + timedelta(days=1)
    days = [setup_last + timedelta(days=i + 1) for i in range(daily)]
    return [
        {"op": "create_run", "job": "full_backfill", "first": first.isoformat(),
         "last": last_of_range.isoformat()},
        {"op": "run", "job": "daily_pipeline", "first": first.isoformat(),
         "last": setup_last.isoformat()},
        *({"op": "run", "job": "daily_pipeline", "first": d.isoformat(), "one_partition": True}
          for d in days),
    ]  # fmt: skip


def measure_variant(
    name: str, root: Path, landing: Path, first: date, year_days: int, daily: int, postgres
) -> dict[str, Any]:
    variant = VARIANTS[name]
    workdir = Workdir(root / name)
    workdir.reset_warehouse()
    env = {**workdir.env(first), "RETAIL_LANDING": str(landing), **variant["env"]}
    if variant["postgres"]:
        database = f"bench_{name.replace('-', '_')}"
        postgres.create_database(database)
        env.update(postgres.env(database))
        workdir.dagster_home.mkdir(parents=True, exist_ok=True)
        (workdir.dagster_home / "dagster.yaml").write_text(
            postgres_instance_yaml(variant["stock_event_log"])
        )
    result = run_child(workdir, env, plan(first, year_days, daily), name)
    created, setup, *days = result["steps"]
    if not setup["success"] or not all(d["success"] for d in days):
        raise RuntimeError(f"{name}: a run failed; see {workdir.root / (name + '.log')}")
    daily_seconds = [d["wall_seconds"] for d in days]
    return {
        "run_creation_seconds": created["seconds"],
        "planned_events": created["planned_events"],
        "daily_run_seconds": daily_seconds,
        "daily_run_median_seconds": statistics.median(daily_seconds),
        "daily_events": days[0]["events"],
        "import_seconds": result["import_seconds"],
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--days", type=int, help="the range run's days (default 365)")
    parser.add_argument("--lines", type=int, help="order lines per day (default 300)")
    parser.add_argument("--daily", type=int, default=3, help="daily runs timed per variant")
    parser.add_argument("--only", help="variants, comma-separated (default: all)")
    args = parser.parse_args(argv)
    year_days = args.days or (30 if args.quick else 365)
    lines = args.lines or (60 if args.quick else 300)
    names = args.only.split(",") if args.only else list(VARIANTS)
    first = date(2025, 1, 1)

    from retail_platform.lib.landing_zone import LocalLandingZone
    from retail_platform.lib.simulator import SimulationConfig, simulate
    from retail_platform_tests.helpers.postgres import PostgresServer

    figures: dict[str, Any] = {"range_days": year_days, "lines_per_day": lines, "variants": {}}
    with tempfile.TemporaryDirectory(prefix="bench-instance-") as folder:
        root = Path(folder)
        landing = root / "landing"
        config = SimulationConfig(seed=SEED, orders_per_day=orders_per_day(lines))
        simulate(LocalLandingZone(root=str(landing)), config, first, 2 + args.daily)
        postgres = PostgresServer() if any(VARIANTS[n]["postgres"] for n in names) else None
        try:
            for name in names:
                figures["variants"][name] = measure_variant(
                    name, root, landing, first, year_days, args.daily, postgres
                )
                print(name, json.dumps(figures["variants"][name]), flush=True)
        finally:
            if postgres:
                postgres.stop()
    figures["load_average_1m"] = load_average()
    print(table(figures))
    return figures


def table(figures: dict[str, Any]) -> str:
    lines = [
        f"range run over {figures['range_days']} days, {figures['lines_per_day']} lines/day",
        f"{'variant':<26}{'run creation (s)':>18}{'planned events':>16}{'daily run (s)':>15}",
    ]
    for name, v in figures["variants"].items():
        lines.append(
            f"{name:<26}{v['run_creation_seconds']:>18.1f}{v['planned_events']:>16,}"
            f"{v['daily_run_median_seconds']:>15.1f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
