"""Daily incremental: land one new day on a warehouse holding H days, time sensor -> marts.

    python -m benchmarks.bench_daily                     # H = 30 and 365, 30,000 lines/day
    python -m benchmarks.bench_daily --reuse data/bench/backfill-365x30000
    python -m benchmarks.bench_daily --quick             # H = 1 and 4, 200 lines/day
    python -m benchmarks.bench_daily --repeat 3          # 3 new days per H, the median kept

For each H, in ``data/bench/daily-<H>x<lines>/``:

1. a warehouse holding H days: ``full_backfill`` over them as one run (raw to marts, the
   churn model trained; under 3 days, too few to train, ``daily_pipeline``), or a copy
   of a work folder of ``bench_backfill`` or ``bench_naive`` that loaded exactly those H
   days (``--reuse``; landing files hard-linked, warehouse, instance and models copied);
2. the landing sensor's cursor moved past every file there, as after ``make demo``
   (and for a copied warehouse, ``dbt parse``: dbt re-parses everything when its profile's
   DuckDB path changes, which a daily run on its own warehouse never pays);
3. one new day (day H + 1, same simulation: same seed, the next date) landed;
4. **timed**: one tick of the real ``landing_sensor`` (list, validate the new files, ask
   for runs), then the ``daily_pipeline`` run it asked for (raw of that day -> silver ->
   gold -> marts; churn scoring is its own daily run, churn_scoring, not timed here).
   The tick must ask for exactly one run, of that day (else the benchmark stops).

With ``--repeat N`` (default 1), steps 3-4 happen N times in turn, for days H + 1, ...,
H + N: the sensor's cursor stays where the previous tick left it, as the daemon keeps it,
so each tick sees only its own new day (the warehouse then holds H, H + 1, ... days, a
small difference next to H). The figures of a history are then those of the median day
(the day whose sensor-to-marts seconds are the median; for an even N, the lower of the
two middle ones), every day's figures are kept in ``repeats``, and a history's run
counts as a success only if every day's run succeeded. One day alone is noisy on a
small machine; ``benchmarks/run.py`` passes ``--repeat 3`` (quick: 2).

Steps 2-4 run in one child process that has already imported the code location (the
import is reported separately: a daemon-launched run pays it in its run worker, plus the
sensor interval, 30 s, and the queue). Reports tick + run seconds per H and the ratio
of the largest H to the smallest (with ``--repeat``, of their medians). ``main(argv)``
returns the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from benchmarks._platform import (
    BENCH_ROOT,
    LOADED_MARKER,
    Workdir,
    churn_label_days,
    code_state,
    ensure_landing,
    layer_seconds,
    load_average,
    orders_per_day,
    run_child,
)

MIN_TRAINING_DAYS = 3  # fewer days leave no retained customer to evaluate the churn model


def _reusable(candidates: list[str], wanted: dict[str, Any]) -> Workdir | None:
    for folder in candidates:
        marker = Path(folder) / LOADED_MARKER
        if marker.exists() and json.loads(marker.read_text()) == wanted:
            return Workdir(Path(folder).resolve())
    return None


def _copy_loaded(source: Workdir, target: Workdir) -> None:
    """A copy of a loaded work folder; landing files hard-linked (never modified in place:
    the new day is new files)."""
    shutil.rmtree(target.root, ignore_errors=True)
    target.root.mkdir(parents=True)
    shutil.copytree(source.landing, target.landing, copy_function=os.link)
    shutil.copyfile(source.database, target.database)
    for folder in ("dagster_home", "models"):
        if (source.root / folder).exists():
            shutil.copytree(source.root / folder, target.root / folder)


def _repeat_figures(
    history: int, new_days: list[date], steps: list[dict[str, Any]], files_before: int
) -> list[dict[str, Any]]:
    """Each new day's figures, from the child's land_day and tick_and_run steps."""
    landed = [s for s in steps if s["op"] == "land_day"]
    ticks = [s for s in steps if s["op"] == "tick_and_run"]
    repeats = []
    for day, land, tick in zip(new_days, landed, ticks, strict=True):
        if tick["run_requests"] != 1 or tick["partitions"] != [day.isoformat()]:
            raise RuntimeError(
                f"H={history}: the tick after landing {day} asked for {tick['run_requests']} "
                f"run(s), partitions {tick['partitions']}, not one run of that day"
            )
        runs = tick["runs"]
        run_seconds = sum(r["wall_seconds"] for r in runs)
        repeats.append(
            {
                "new_day": day.isoformat(),
                "new_day_files": land["files"],
                "new_day_order_lines": land["order_lines"],
                "files_in_zone_before": files_before,
                "tick_seconds": tick["tick_seconds"],
                "run_requests": tick["run_requests"],
                "run_seconds": run_seconds,
                "run_success": bool(runs) and all(r["success"] for r in runs),
                "sensor_to_marts_seconds": tick["tick_seconds"] + run_seconds,
                "run_layer_seconds": layer_seconds(runs[0]),
                "_run": runs[0],  # measure() drops it once the median is known
            }
        )
        files_before += land["files"]
    return repeats


def measure(
    root: Path,
    history: int,
    lines: int,
    start: date,
    seed: int,
    reuse: list[str],
    extra_env: dict[str, str] | None = None,
    repeat: int = 1,
) -> dict[str, Any]:
    """One history of H days, then ``repeat`` new days, each landed and timed in turn.

    The top-level figures (new_day, tick_seconds, run_seconds, sensor_to_marts_seconds,
    run_layer_seconds, run_dbt_*, ...) are those of the median repeat: the one whose
    sensor-to-marts seconds are the median, for an even ``repeat`` the lower of the two
    middle ones; ``run_success`` is true only if every repeat's run succeeded.
    ``repeats`` holds every repeat's figures, in the order the days were landed."""
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    workdir = Workdir(root / f"daily-{history}x{lines}")
    wanted = {
        "start": start.isoformat(),
        "days": history,
        "orders_per_day": orders_per_day(lines),
        "seed": seed,
    }
    plan: list[dict[str, Any]] = []
    source = _reusable(reuse, wanted)
    if source is not None:
        _copy_loaded(source, workdir)
        plan.append({"op": "parse"})  # a daily run finds yesterday's parse state
    else:
        ensure_landing(workdir, start, history, lines, seed)
        workdir.reset_warehouse()
        last = start + timedelta(days=history - 1)
        job = "full_backfill" if history >= MIN_TRAINING_DAYS else "daily_pipeline"
        plan.append({"op": "run", "job": job, "first": start.isoformat(),
                     "last": last.isoformat()})  # fmt: skip
    new_days = [start + timedelta(days=history + i) for i in range(repeat)]
    plan.append({"op": "mark_seen"})
    for day in new_days:
        plan += [
            {"op": "land_day", "day": day.isoformat(), "seed": seed,
             "orders_per_day": wanted["orders_per_day"]},
            {"op": "tick_and_run"},
        ]  # fmt: skip
    # The landing zone now holds more days than its marker says: simulate afresh next time.
    (workdir.root / "landing.json").unlink(missing_ok=True)
    before = load_average()
    env = {**workdir.env(start, churn_label_days(history)), **(extra_env or {})}
    child = run_child(workdir, env, plan, "daily")
    history_run = next((s for s in child["steps"] if s["op"] == "run"), None)
    seen = next(s for s in child["steps"] if s["op"] == "mark_seen")
    repeats = _repeat_figures(history, new_days, child["steps"], seen["files"])
    median = sorted(repeats, key=lambda r: r["sensor_to_marts_seconds"])[(repeat - 1) // 2]
    dbt = median["_run"]["dbt"]
    for r in repeats:
        del r["_run"]
    return {
        "history_days": history,
        "history_reused_from": str(source.root) if source else None,
        "history_run_seconds": history_run["wall_seconds"] if history_run else None,
        "history_success": history_run["success"] if history_run else True,
        # the median repeat's figures (run_success: every repeat's)
        **{k: v for k, v in median.items() if k != "run_success"},
        "run_success": all(r["run_success"] for r in repeats),
        "run_dbt_invocations": len(dbt),
        "run_dbt_seconds": sum(d.get("step_seconds") or 0.0 for d in dbt),
        "run_dbt_steps": [
            {
                k: d.get(k)
                for k in (
                    "invocation",
                    "step_seconds",
                    "startup_and_parse_seconds",
                    "execute_seconds",
                    "slowest",
                )
            }
            for d in dbt
        ],  # fmt: skip
        "repeats": repeats,
        "sensor_to_marts_seconds_all": [r["sensor_to_marts_seconds"] for r in repeats],
        "import_seconds": child["import_seconds"],
        "load_average_before": before,
        "load_average_after": load_average(),
        "workdir": str(workdir.root),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="H = 1 and 4, 200 lines/day")
    parser.add_argument("--histories", help="comma-separated H (default 30,365; quick 1,4)")
    parser.add_argument("--lines-per-day", type=int, help="default 30,000 (quick 200)")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2025, 1, 1))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workdir", help="folder for the daily-<H>x<lines> work folders")
    parser.add_argument(
        "--reuse",
        action="append",
        default=[],
        help="a bench_backfill or bench_naive work folder whose warehouse holds H days "
        "(repeatable)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="new days landed and timed per history, one after the other (default 1); "
        "the figures are the median day's",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folders")
    parser.add_argument(
        "--dbt-subprocess", action="store_true", help="dbt as a subprocess (stock dagster-dbt)"
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    histories = [int(h) for h in (args.histories or ("1,4" if args.quick else "30,365")).split(",")]
    lines = args.lines_per_day or (200 if args.quick else 30_000)
    holder = None
    if args.workdir:
        root = Path(args.workdir).resolve()
    elif args.quick:
        import tempfile

        holder = tempfile.TemporaryDirectory(prefix="bench-daily-")
        root = Path(holder.name)
    else:
        root = BENCH_ROOT
    results = []
    try:
        for history in sorted(histories):
            result = measure(
                root, history, lines, args.start, args.seed, args.reuse,
                {"RETAIL_DBT_IN_PROCESS": "false"} if args.dbt_subprocess else None,
                args.repeat,
            )  # fmt: skip
            results.append(result)
            if not args.keep and not args.quick:
                # the copies and histories are rebuilt on the next run; keep the disk free
                shutil.rmtree(result["workdir"], ignore_errors=True)
    finally:
        if holder is not None:
            holder.cleanup()
    smallest, largest = results[0], results[-1]
    figures: dict[str, Any] = {
        "order_lines_per_day": lines,
        "start": args.start.isoformat(),
        "repeat": args.repeat,
        "code": code_state(),
        "by_history": results,
        "largest_over_smallest": largest["sensor_to_marts_seconds"]
        / smallest["sensor_to_marts_seconds"],
        "success": all(r["run_success"] and r["history_success"] for r in results),
    }
    if holder is None:
        (root / f"daily-{lines}.figures.json").write_text(json.dumps(figures, indent=1))
    report(figures)
    return figures


def _seconds_list(r: dict[str, Any]) -> str:
    return ", ".join(f"{s:.1f}" for s in r["sensor_to_marts_seconds_all"])


def report(f: dict[str, Any]) -> None:
    repeat = f.get("repeat", 1)
    print(
        f"daily incremental benchmark: one new day of ~{f['order_lines_per_day']:,} order lines"
        + (f", {repeat} new days in turn per history, the median one shown" if repeat > 1 else "")
    )
    for r in f["by_history"]:
        layers = ", ".join(f"{k} {v:.1f}" for k, v in r["run_layer_seconds"].items())
        source = (
            f"reused {r['history_reused_from']}"
            if r["history_reused_from"]
            else f"loaded in {r['history_run_seconds']:.1f} s"
        )
        print(
            f"  H={r['history_days']} days ({source}): tick {r['tick_seconds']:.1f} s "
            f"({r['run_requests']} run request(s), {r['new_day_files']} new files among "
            f"{r['files_in_zone_before']:,}) + run {r['run_seconds']:.1f} s "
            f"({'SUCCESS' if r['run_success'] else 'FAILURE'}) = "
            f"{r['sensor_to_marts_seconds']:.1f} s sensor to marts"
            + (f" (median: {r['new_day']})" if repeat > 1 else "")
        )
        if repeat > 1:
            failed = [x["new_day"] for x in r["repeats"] if not x["run_success"]]
            print(
                f"    repeats: {_seconds_list(r)} s (median {r['sensor_to_marts_seconds']:.1f})"
                + (f"; FAILED: {', '.join(failed)}" if failed else "")
            )
        print(f"    run by layer (s): {layers}")
        print(
            f"    {r['run_dbt_invocations']} dbt invocations, {r['run_dbt_seconds']:.1f} s in "
            "their steps"
        )
        for step in r["run_dbt_steps"]:
            nodes = (step["slowest"] or [])[:5]
            slowest = ", ".join(f"{n['node'].split('.')[-1]} {n['seconds']:.1f}" for n in nodes)
            print(f"      {step['invocation'].split('-')[0]}: slowest nodes (s) {slowest}")
        print(
            f"    (+ {r['import_seconds']:.1f} s run worker import when daemon-launched); "
            f"load average {r['load_average_before']:.2f} -> {r['load_average_after']:.2f}"
        )
    print(
        f"  H={f['by_history'][-1]['history_days']} / H={f['by_history'][0]['history_days']}: "
        f"{f['largest_over_smallest']:.2f}x" + (" (ratio of the medians)" if repeat > 1 else "")
    )


def record_table(f: dict[str, Any]) -> dict[str, str]:
    repeat = f.get("repeat", 1)
    median = ", median new day" if repeat > 1 else ""
    rows: dict[str, str] = {"order lines in the new day": f"~{f['order_lines_per_day']:,}"}
    if repeat > 1:
        rows["new days per history (landed and timed in turn)"] = str(repeat)
    for r in f["by_history"]:
        h = r["history_days"]
        rows[f"H={h}: sensor tick + run = sensor to marts{median} (s)"] = (
            f"{r['tick_seconds']:.1f} + {r['run_seconds']:.1f} = "
            f"{r['sensor_to_marts_seconds']:.1f}" + ("" if r["run_success"] else " (FAILURE)")
        )
        if repeat > 1:
            rows[f"H={h}: sensor to marts, each of {repeat} new days (s)"] = _seconds_list(r)
        rows[f"H={h}: run by layer{median} (s)"] = ", ".join(
            f"{k} {v:.1f}" for k, v in r["run_layer_seconds"].items()
        )
        rows[f"H={h}: dbt invocations / their steps{median} (s)"] = (
            f"{r['run_dbt_invocations']} / {r['run_dbt_seconds']:.1f}"
        )
        rows[f"H={h}: load average before / after"] = (
            f"{r['load_average_before']:.2f} / {r['load_average_after']:.2f}"
        )
    first, last = f["by_history"][0]["history_days"], f["by_history"][-1]["history_days"]
    ratio = f"H={last} / H={first}" + (", ratio of the medians" if repeat > 1 else "")
    rows[ratio] = f"{f['largest_over_smallest']:.2f}x"
    rows["run worker import, not included (s)"] = f"{f['by_history'][-1]['import_seconds']:.1f}"
    rows["code"] = f["code"]
    return rows


if __name__ == "__main__":
    main()
