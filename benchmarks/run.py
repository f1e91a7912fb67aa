"""Run every benchmark; with --record, keep the figures (benchmarks/_machine.py: record).

    python -m benchmarks.run [--quick] [--record] [--only NAME,...] [--keep]

Benchmarks, in this order: simulator, sensor, backfill (year backfill + DuckDB baseline),
naive (one run per partition), daily (daily incremental on 30 and 365 days, the median of
3 new days landed in turn on each, ``--repeat 3``; starts from the warehouses the backfill
and the naive benchmark loaded when they hold those days).
--quick runs each on a tiny volume in a temporary folder, only to prove the scripts
still work (the test suite does this; daily lands 2 new days per history there, so the
repeat is exercised); its figures mean nothing and are never recorded.
The full run keeps its work folders under data/bench/ only with --keep (a landed year is
~6 GB, its warehouse a few GB).
--record replaces each benchmark's section of benchmarks/RESULTS.md with its latest figures
and the machine, and appends the figures to benchmarks/history.csv (one row per figure).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from benchmarks import (
    bench_backfill,
    bench_daily,
    bench_naive,
    bench_sensor,
    bench_simulator,
)
from benchmarks._machine import record
from benchmarks._platform import BENCH_ROOT

NAMES = ("simulator", "sensor", "backfill", "naive", "daily")
DAILY_REPEAT = 3  # new days per history in the daily benchmark: one alone is too noisy
QUICK_DAILY_REPEAT = 2  # runs the repeat's code path; each extra day ~15 s at 200 lines


def _record_simulator(sim: dict) -> None:
    record(
        "Simulator",
        {
            "orders + order_items in memory, median of passes (lines/s)": (
                f"{sim['orders_items_lines_per_s']:,.0f}"
            ),
            "orders + order_items in memory, each pass (M lines/s)": ", ".join(
                f"{r / 1e6:.2f}" for r in sim["orders_items_lines_per_s_passes"]
            ),
            "whole day with faults in memory, median (lines/s)": (
                f"{sim['full_day_lines_per_s']:,.0f}"
            ),
            "days written as jsonl": sim["days"],
            "order lines per day": f"{sim['order_lines_per_day']:,.0f}",
            "write time (s)": f"{sim['write_seconds']:.1f}",
            "files / MB / rows written": f"{sim['files']:,} / {sim['megabytes']:,.0f} / "
            f"{sim['rows']:,}",
            "worker processes": sim["workers"],
            "load average after the run": f"{sim['load_average_1m']:.2f}",
        },
    )


def main(argv: list[str] | None = None) -> dict[str, dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--record", action="store_true")
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(NAMES)}")
    parser.add_argument("--keep", action="store_true", help="keep data/bench/ work folders")
    args = parser.parse_args(argv)
    only = set(args.only.split(",")) if args.only else set(NAMES)
    unknown = only - set(NAMES)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    quick = ["--quick"] if args.quick else []
    record_figures = args.record and not args.quick

    holder = tempfile.TemporaryDirectory(prefix="bench-") if args.quick else None
    root = Path(holder.name) if holder else None
    folders = {name: str(root / name) if root else None for name in ("backfill", "daily", "naive")}

    def where(name: str) -> list[str]:
        return ["--workdir", folders[name]] if folders[name] else []

    results: dict[str, dict] = {}
    try:
        if "simulator" in only:
            results["simulator"] = bench_simulator.main(quick)
            if record_figures:
                _record_simulator(results["simulator"])
        if "sensor" in only:
            results["sensor"] = bench_sensor.main(quick)
            if record_figures:
                record("Landing sensor tick, local zone", results["sensor"])
        if "backfill" in only:
            results["backfill"] = bench_backfill.main([*quick, *where("backfill")])
            if record_figures:
                record(
                    "Year backfill, platform vs DuckDB baseline",
                    bench_backfill.record_table(results["backfill"]),
                )
        if "naive" in only:
            results["naive"] = bench_naive.main([*quick, *where("naive")])
            if record_figures:
                record("Naive: one run per partition", bench_naive.record_table(results["naive"]))
        if "daily" in only:
            # warehouses bench_backfill and bench_naive loaded (bench_daily checks that they
            # hold exactly the H days: in quick mode both histories, in a full run the year)
            loaded = [results[name]["workdir"] for name in ("backfill", "naive") if name in results]
            if not args.quick:
                loaded += [str(p) for p in sorted(BENCH_ROOT.glob("backfill-*")) if p.is_dir()]
            reuse = [arg for folder in dict.fromkeys(loaded) for arg in ("--reuse", folder)]
            repeat = QUICK_DAILY_REPEAT if args.quick else DAILY_REPEAT
            results["daily"] = bench_daily.main(
                [*quick, *where("daily"), *reuse, "--repeat", str(repeat)]
            )
            if record_figures:
                record("Daily incremental run", bench_daily.record_table(results["daily"]))
    finally:
        if holder is not None:
            holder.cleanup()
        elif not args.keep:
            for name in ("backfill", "naive"):
                if name in results:
                    shutil.rmtree(results[name].get("workdir", ""), ignore_errors=True)
    return results


if __name__ == "__main__":
    main()
