"""Naive reference: one run per partition, against one run over the same days.

    python -m benchmarks.bench_naive              # 7 days x 30,000 order lines/day
    python -m benchmarks.bench_naive --quick      # 1 day x 200 lines: proves it runs

Simulates N days into ``data/bench/naive-<days>x<lines>/landing``, then, in one child
process with the work folder's environment (the code location imported once):

1. N runs of ``daily_pipeline`` (the landing sensor's job: raw to marts, no churn
   scoring or retraining), one partition each, oldest first, on an empty warehouse:
   the shape a sensor or a per-partition backfill produces;
2. one run of ``daily_pipeline`` over the same N days (the range tags of a single-run
   backfill). It runs on the warehouse the per-partition runs filled, so it replaces
   every window (delete + insert, dbt's incremental path): what a re-run costs, if
   anything a little more than a first load.

The warehouse then holds exactly the N days, and says so (``loaded.json``): in quick
mode ``run.py`` hands it to bench_daily as its shortest history.

Reports seconds per partition (each run's wall time, and the mean), the single run's
seconds per day, their ratio, and where a one-partition run spends its time (dbt
invocations, their start-up + parse). A run launched by the daemon also starts a run
worker process that imports the code location: that import is measured once and shown
beside the per-partition figure. ``main(argv)`` returns the figures.
"""

from __future__ import annotations

import argparse
import json
from datetime import date, timedelta
from typing import Any

from benchmarks._platform import (
    churn_label_days,
    code_state,
    ensure_landing,
    layer_seconds,
    load_average,
    mark_loaded,
    run_child,
    workdir_for,
)

JOB = "daily_pipeline"


def _dbt(run: dict[str, Any]) -> tuple[int, float, float]:
    """dbt invocations of a run, their summed step seconds and start-up + parse seconds."""
    invocations = run["dbt"]
    return (
        len(invocations),
        sum(d.get("step_seconds") or 0.0 for d in invocations),
        sum((d.get("startup_and_parse_seconds") or 0.0) for d in invocations),
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 day x 200 lines")
    parser.add_argument("--days", type=int, help="partitions (default 7, quick 1)")
    parser.add_argument("--lines-per-day", type=int, help="default 30,000 (quick 200)")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2025, 1, 1))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workdir", help="default data/bench/naive-<days>x<lines>")
    args = parser.parse_args(argv)

    days = args.days or (1 if args.quick else 7)
    lines = args.lines_per_day or (200 if args.quick else 30_000)
    workdir, holder = workdir_for(f"naive-{days}x{lines}", args.workdir, args.quick)
    dates = [args.start + timedelta(days=i) for i in range(days)]
    try:
        landed = ensure_landing(workdir, args.start, days, lines, args.seed)
        workdir.reset_warehouse()
        before = load_average()
        plan = [
            {"op": "run", "job": JOB, "first": d.isoformat(), "one_partition": True} for d in dates
        ]
        plan.append(
            {"op": "run", "job": JOB, "first": dates[0].isoformat(), "last": dates[-1].isoformat()}
        )
        env = workdir.env(args.start, churn_label_days(days))
        mark_loaded(workdir, None)
        child = run_child(workdir, env, plan, "naive")
        if all(step["success"] for step in child["steps"]):
            # the warehouse holds exactly the N days (no churn model: daily_pipeline
            # never trains); bench_daily --reuse may start from it
            mark_loaded(workdir, landed)
    finally:
        if holder is not None:
            holder.cleanup()

    *per_partition, single = child["steps"]
    seconds = [r["wall_seconds"] for r in per_partition]
    mean = sum(seconds) / len(seconds)
    invocations, dbt_seconds, dbt_parse = _dbt(per_partition[-1])
    figures: dict[str, Any] = {
        "days": days,
        "order_lines_per_day": landed["order_lines"] / days,
        "success": all(r["success"] for r in child["steps"]),
        "partition_run_seconds": seconds,
        "seconds_per_partition": mean,
        "import_seconds": child["import_seconds"],
        "seconds_per_partition_with_worker_start": mean + child["import_seconds"],
        "single_run_seconds": single["wall_seconds"],
        "single_run_seconds_per_day": single["wall_seconds"] / days,
        "naive_over_single_run_per_day": mean / (single["wall_seconds"] / days),
        "partition_run_layer_seconds": layer_seconds(per_partition[-1]),
        "single_run_layer_seconds": layer_seconds(single),
        "partition_run_dbt_invocations": invocations,
        "partition_run_dbt_step_seconds": dbt_seconds,
        "partition_run_dbt_startup_parse_seconds": dbt_parse,
        "peak_rss_bytes": child["peak_rss_bytes"],
        "load_average_before": before,
        "load_average_after": load_average(),
        "code": code_state(),
        "workdir": str(workdir.root),
    }
    if holder is None:
        (workdir.root / "naive.figures.json").write_text(json.dumps(figures, indent=1))
    report(figures)
    return figures


def report(f: dict[str, Any]) -> None:
    print(
        f"naive benchmark: {f['days']} partitions of {f['order_lines_per_day']:,.0f} order lines, "
        f"job {JOB} ({'SUCCESS' if f['success'] else 'FAILURE'})"
    )
    runs = ", ".join(f"{s:.1f}" for s in f["partition_run_seconds"])
    print(f"  one run per partition: {runs} s -> {f['seconds_per_partition']:.1f} s per partition")
    print(
        f"    + {f['import_seconds']:.1f} s run worker start (importing the code location) = "
        f"{f['seconds_per_partition_with_worker_start']:.1f} s per partition when launched"
    )
    print(
        f"    of which {f['partition_run_dbt_invocations']} dbt steps "
        f"{f['partition_run_dbt_step_seconds']:.1f} s "
        f"(dbt start-up + parse {f['partition_run_dbt_startup_parse_seconds']:.1f} s)"
    )
    print(
        f"  one run over the {f['days']} days: {f['single_run_seconds']:.1f} s -> "
        f"{f['single_run_seconds_per_day']:.1f} s per day; per-partition runs cost "
        f"{f['naive_over_single_run_per_day']:.1f}x as much per day"
    )
    print(
        f"  load average: {f['load_average_before']:.2f} before, "
        f"{f['load_average_after']:.2f} after"
    )


def record_table(f: dict[str, Any]) -> dict[str, str]:
    return {
        "partitions x order lines/day": f"{f['days']} x {f['order_lines_per_day']:,.0f}",
        "run results": "SUCCESS" if f["success"] else "FAILURE",
        "one run per partition (s each)": ", ".join(f"{s:.1f}" for s in f["partition_run_seconds"]),
        "seconds per partition (mean)": f"{f['seconds_per_partition']:.1f}",
        "+ run worker start, import (s)": f"{f['import_seconds']:.1f}",
        "dbt steps per run / their seconds / dbt start-up+parse (s)": (
            f"{f['partition_run_dbt_invocations']} / {f['partition_run_dbt_step_seconds']:.1f} / "
            f"{f['partition_run_dbt_startup_parse_seconds']:.1f}"
        ),
        "one run over all the days (s)": f"{f['single_run_seconds']:.1f}",
        "single run, seconds per day": f"{f['single_run_seconds_per_day']:.1f}",
        "per-partition / single-run cost per day": f"{f['naive_over_single_run_per_day']:.1f}x",
        "peak RSS, process tree (GiB)": f"{f['peak_rss_bytes'] / 2**30:.2f}",
        "load average before / after": (
            f"{f['load_average_before']:.2f} / {f['load_average_after']:.2f}"
        ),
        "code": f["code"],
    }


if __name__ == "__main__":
    main()
