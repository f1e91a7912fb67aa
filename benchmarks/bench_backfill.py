"""Year backfill: the platform's real single-run backfill against one hand-written DuckDB script.

    python -m benchmarks.bench_backfill                    # 365 days x 30,000 order lines/day
    python -m benchmarks.bench_backfill --days 30          # a month at the same daily volume
    python -m benchmarks.bench_backfill --quick            # 4 days x 200 lines: proves it runs

1. Simulates the days into ``data/bench/backfill-<days>x<lines>/landing`` (reused when a
   previous run landed exactly the same simulation).
2. Runs ``full_backfill`` over the whole range as **one run** on the embedded default
   (DuckDB file, local landing zone, DAGSTER_HOME, model folder of the work folder), in a
   child process with ``execute_in_process`` and the partition range tags (as ``make demo``
   did before it launched its run from the code location; the steps run alike); raw ->
   silver -> gold -> marts -> churn model and scores. Histories shorter than 120 days train
   the churn model on a label window of a third of their length.
3. Runs the baseline (``benchmarks/baseline_duckdb.py``) over the same landed files in a
   child process.

Reports wall time per layer (from the run's event log), where the raw and dbt steps spend
it, rows per second, the peak RSS of each child's whole process tree (sampled every
0.5 s), the DuckDB file sizes, and platform / baseline. ``main(argv)`` returns the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date, timedelta
from typing import Any

from benchmarks._platform import (
    LAYERS,
    bytecode_cache_env,
    churn_label_days,
    code_state,
    ensure_landing,
    layer_seconds,
    load_average,
    mark_loaded,
    peak_rss_by_step,
    raw_split,
    run_child,
    run_process,
    table_rows,
    workdir_for,
)

GIB = 2**30
# Tables the platform and the baseline both build: their row counts must agree.
COMPARED = {
    **{f"retail_silver.{e}": f"silver_{e}" for e in ("orders", "order_items", "payments",
                                                   "shipments", "inventory", "customers")},
    "retail_silver.rejects": "rejects",
    "retail_gold.fact_sales": "fact_sales",
    "retail_marts.agg_daily_sales": "agg_daily_sales",
}  # fmt: skip


def run_baseline(workdir, log_label: str = "baseline") -> dict[str, Any]:
    out = workdir.root / f"{log_label}.result.json"
    out.unlink(missing_ok=True)
    command = [
        sys.executable, "-m", "benchmarks.baseline_duckdb",
        "--landing", str(workdir.landing),
        "--database", str(workdir.root / "baseline.duckdb"),
        "--json", str(out),
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(bytecode_cache_env())
    process = run_process(command, env, workdir.root / f"{log_label}.log")
    if process["returncode"] != 0:
        log = (workdir.root / f"{log_label}.log").read_text()[-3000:]
        raise RuntimeError(f"baseline failed:\n{log}")
    return {**json.loads(out.read_text()), **process}


def summarize(
    days: int, landed: dict, child: dict, rows: dict[str, int], db_bytes: int, baseline: dict | None
) -> dict[str, Any]:
    run = child["steps"][0]
    layers = layer_seconds(run)
    peaks = peak_rss_by_step(run, child["rss_timeline"])
    raw_rows = sum(n for t, n in rows.items() if t.startswith("retail_raw."))
    order_lines = rows.get("retail_raw.order_items", 0)
    dbt = run["dbt"]
    figures: dict[str, Any] = {
        "days": days,
        "order_lines_per_day": landed["order_lines"] / days,
        "order_lines": landed["order_lines"],
        "landing_files": landed["files"],
        "landing_megabytes": landed["bytes"] / 1e6,
        "simulate_seconds": landed["seconds"],
        "landing_reused": landed["reused"],
        "success": run["success"],
        "import_seconds": child["import_seconds"],
        "process_seconds": child["process_seconds"],
        "run_seconds": run["wall_seconds"],
        "layer_seconds": layers,
        "raw_split_seconds": raw_split(run),
        "dbt_invocations": [
            {
                k: d.get(k)
                for k in (
                    "invocation",
                    "step_seconds",
                    "before_dbt_seconds",
                    "startup_and_parse_seconds",
                    "execute_seconds",
                    "after_dbt_seconds",
                    "elapsed_seconds",
                    "model_seconds",
                    "test_seconds",
                    "models",
                    "tests",
                    "slowest",
                )
            }
            for d in dbt
        ],  # fmt: skip
        "steps": [
            {
                "key": s["key"],
                "seconds": s["seconds"],
                "events": s["events"],
                "peak_rss_bytes": peaks.get(s["key"], 0),
            }
            for s in run["steps"]
        ],  # fmt: skip
        "event_log_events": run["events"],
        "event_counts": run["event_counts"],
        "before_run_start_seconds": run["before_run_start_seconds"],
        "after_last_step_seconds": run["after_last_step_seconds"],
        "raw_rows": raw_rows,
        "raw_order_lines": order_lines,
        "rows": rows,
        "raw_rows_per_second_of_run": raw_rows / run["wall_seconds"],
        "order_lines_per_second_of_run": order_lines / run["wall_seconds"],
        "raw_rows_per_second_of_raw_layer": raw_rows / max(layers["raw"], 1e-9),
        "peak_rss_bytes": child["peak_rss_bytes"],
        "largest_process_rss_bytes": child["largest_process_rss_bytes"],
        "duckdb_bytes": db_bytes,
    }
    if baseline is not None:
        platform_without_churn = run["wall_seconds"] - layers["churn"]
        figures.update(
            {
                "baseline_seconds": baseline["total_seconds"],
                "baseline_stage_seconds": baseline["seconds"],
                "baseline_peak_rss_bytes": baseline["peak_rss_bytes"],
                "baseline_duckdb_bytes": baseline["database_bytes"],
                "baseline_duckdb_threads": baseline["duckdb_threads"],
                "platform_over_baseline": run["wall_seconds"] / baseline["total_seconds"],
                "platform_without_churn_over_baseline": platform_without_churn
                / baseline["total_seconds"],
                "row_counts_agree": {
                    table: (rows.get(table), baseline["rows"].get(name))
                    for table, name in COMPARED.items()
                },
            }
        )
    return figures


def report(f: dict[str, Any]) -> None:
    mb = 1e6
    print(
        f"backfill benchmark: {f['days']} days, {f['order_lines_per_day']:,.0f} order lines/day "
        f"({f['order_lines']:,} lines, {f['landing_files']:,} files, "
        f"{f['landing_megabytes']:,.0f} MB landed"
        + (", landing reused)" if f["landing_reused"] else f", simulated in "
           f"{f['simulate_seconds']:.1f} s)")
    )  # fmt: skip
    print(
        f"  platform full_backfill, one run: {f['run_seconds']:.1f} s "
        f"({'SUCCESS' if f['success'] else 'FAILURE'}); child process {f['process_seconds']:.1f}"
        f" s incl. {f['import_seconds']:.1f} s importing the code location"
    )
    for name, label in (*LAYERS, ("overhead", "run outside any step")):
        print(f"    {label:<58} {f['layer_seconds'][name]:>8.1f} s")
    planned = f["event_counts"].get("ASSET_MATERIALIZATION_PLANNED", 0)
    print(
        f"    outside steps: {f['before_run_start_seconds']:.1f} s creating the run "
        f"({planned:,} materializations planned) before it starts, "
        f"{f['after_last_step_seconds']:.1f} s after its last step"
    )
    split = f["raw_split_seconds"]
    print(
        f"    raw split: read landing files {split['read_landing']:.1f} s, IO manager write "
        f"{split['io_manager_write']:.1f} s, after the write {split['after_write']:.1f} s"
    )
    for d in f["dbt_invocations"]:
        print(
            f"    dbt step {d['invocation'].rsplit('-', 2)[0]}: {d.get('step_seconds') or 0:.1f} s"
            f" = before dbt logs {d.get('before_dbt_seconds') or 0:.1f} s + start-up+parse "
            f"{d.get('startup_and_parse_seconds') or 0:.1f} s + execute "
            f"{d.get('execute_seconds') or 0:.1f} s + after dbt "
            f"{d.get('after_dbt_seconds') or 0:.1f} s; {d.get('models')} models "
            f"{d.get('model_seconds') or 0:.1f} s, {d.get('tests')} tests "
            f"{d.get('test_seconds') or 0:.1f} s (summed over dbt's threads)"
        )
    print(
        f"  {f['raw_rows']:,} raw rows: {f['raw_rows_per_second_of_run']:,.0f} raw rows/s and "
        f"{f['order_lines_per_second_of_run']:,.0f} order lines/s over the run; "
        f"{sum(f['event_counts'].values()):,} event log entries"
    )
    top = max(f["steps"], key=lambda s: s["peak_rss_bytes"], default=None)
    print(
        f"  peak RSS {f['peak_rss_bytes'] / GIB:.2f} GiB (process tree; largest process "
        f"{f['largest_process_rss_bytes'] / GIB:.2f} GiB"
        + (f"; highest during {top['key']}" if top else "")
        + f"); DuckDB file {f['duckdb_bytes'] / mb:,.0f} MB"
    )
    if "baseline_seconds" in f:
        stages = ", ".join(f"{k} {v:.1f} s" for k, v in f["baseline_stage_seconds"].items())
        print(
            f"  baseline, one DuckDB script: {f['baseline_seconds']:.1f} s ({stages}); peak RSS "
            f"{f['baseline_peak_rss_bytes'] / GIB:.2f} GiB; DuckDB file "
            f"{f['baseline_duckdb_bytes'] / mb:,.0f} MB"
        )
        agree = all(a == b for a, b in f["row_counts_agree"].values())
        print(
            f"  platform / baseline: {f['platform_over_baseline']:.1f}x "
            f"({f['platform_without_churn_over_baseline']:.1f}x without the churn layer); "
            f"row counts {'agree' if agree else 'DIFFER: ' + str(f['row_counts_agree'])}"
        )
    print(
        f"  load average: {f['load_average_before']:.2f} before, "
        f"{f['load_average_after']:.2f} after; code {f['code']}"
    )


def record_table(f: dict[str, Any]) -> dict[str, str]:
    """The figures as rows of a RESULTS.md table."""
    rows = {
        "days x order lines/day": f"{f['days']} x {f['order_lines_per_day']:,.0f}",
        "landing files / MB": f"{f['landing_files']:,} / {f['landing_megabytes']:,.0f}",
        "run result": "SUCCESS" if f["success"] else "FAILURE",
        "platform full_backfill, one run (s)": f"{f['run_seconds']:.1f}",
        **{
            f"  {label} (s)": f"{f['layer_seconds'][name]:.1f}"
            for name, label in (*LAYERS, ("overhead", "run outside any step"))
        },
        "  raw: read landing / IO manager write (s)": (
            f"{f['raw_split_seconds']['read_landing']:.1f} / "
            f"{f['raw_split_seconds']['io_manager_write']:.1f}"
        ),
        "child process incl. imports (s)": f"{f['process_seconds']:.1f}",
        "raw rows / order lines per second of run": (
            f"{f['raw_rows_per_second_of_run']:,.0f} / {f['order_lines_per_second_of_run']:,.0f}"
        ),
        "peak RSS, process tree (GiB)": f"{f['peak_rss_bytes'] / GIB:.2f}",
        "DuckDB file (MB)": f"{f['duckdb_bytes'] / 1e6:,.0f}",
    }
    if "baseline_seconds" in f:
        stages = ", ".join(f"{k} {v:.1f}" for k, v in f["baseline_stage_seconds"].items())
        rows.update(
            {
                "baseline DuckDB script (s)": f"{f['baseline_seconds']:.1f} ({stages})",
                "baseline peak RSS (GiB)": f"{f['baseline_peak_rss_bytes'] / GIB:.2f}",
                "platform / baseline": f"{f['platform_over_baseline']:.1f}x "
                f"({f['platform_without_churn_over_baseline']:.1f}x without churn)",
            }
        )
    rows["code"] = f["code"]
    rows["load average before / after"] = (
        f"{f['load_average_before']:.2f} / {f['load_average_after']:.2f}"
    )
    return rows


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 days x 200 lines")
    parser.add_argument("--days", type=int, help="days to backfill (default 365, quick 4)")
    parser.add_argument("--lines-per-day", type=int, help="default 30,000 (quick 200)")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2025, 1, 1))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workdir", help="default data/bench/backfill-<days>x<lines>")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--profile", metavar="PY_SPY", help="run the platform under py-spy")
    parser.add_argument(
        "--dbt-subprocess", action="store_true", help="dbt as a subprocess (stock dagster-dbt)"
    )
    args = parser.parse_args(argv)

    days = args.days or (4 if args.quick else 365)
    lines = args.lines_per_day or (200 if args.quick else 30_000)
    workdir, holder = workdir_for(f"backfill-{days}x{lines}", args.workdir, args.quick)
    try:
        landed = ensure_landing(workdir, args.start, days, lines, args.seed)
        workdir.reset_warehouse()
        mark_loaded(workdir, None)
        last = args.start + timedelta(days=days - 1)
        before = load_average()
        plan = [{"op": "run", "job": "full_backfill", "first": args.start.isoformat(),
                 "last": last.isoformat()}]  # fmt: skip
        env = workdir.env(args.start, churn_label_days(days))
        if args.dbt_subprocess:
            env["RETAIL_DBT_IN_PROCESS"] = "false"
        child = run_child(workdir, env, plan, "backfill", profile=args.profile)
        rows = table_rows(workdir.database)
        db_bytes = workdir.warehouse_bytes()
        if child["steps"][0]["success"]:
            mark_loaded(workdir, landed)
        baseline = None if args.no_baseline else run_baseline(workdir)
        figures = summarize(days, landed, child, rows, db_bytes, baseline)
        figures.update(
            {"load_average_before": before, "load_average_after": load_average(),
             "workdir": str(workdir.root), "code": code_state()}
        )  # fmt: skip
        (workdir.root / "backfill.figures.json").write_text(json.dumps(figures, indent=1))
    finally:
        if holder is not None:
            holder.cleanup()
    report(figures)
    return figures


if __name__ == "__main__":
    main()
