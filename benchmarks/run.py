"""Run every benchmark; with --record, append the figures to benchmarks/RESULTS.md.

    python benchmarks/run.py [--quick] [--record]

--quick runs each benchmark on a tiny volume, only to prove the scripts still work
(the test suite does this); its figures mean nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import bench_sensor, bench_simulator  # noqa: E402
from benchmarks._machine import record  # noqa: E402


def main(argv: list[str] | None = None) -> dict[str, dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args(argv)
    quick = ["--quick"] if args.quick else []

    simulator = bench_simulator.main(quick)
    sensor = bench_sensor.main(quick)
    if args.record and not args.quick:
        sim = simulator
        record(
            "Simulator",
            {
                "orders + order_items in memory (lines/s)": f"{sim['orders_items_lines_per_s']:,.0f}",  # noqa: E501
                "whole day with faults in memory (lines/s)": f"{sim['full_day_lines_per_s']:,.0f}",
                "days written as jsonl": sim["days"],
                "order lines per day": f"{sim['order_lines_per_day']:,.0f}",
                "write time (s)": f"{sim['write_seconds']:.1f}",
                "files / MB / rows written": f"{sim['files']:,} / {sim['megabytes']:,.0f} / "
                f"{sim['rows']:,}",
                "worker processes": sim["workers"],
                "load average after the run": f"{sim['load_average_1m']:.2f}",
            },
        )
        record("Landing sensor tick, local zone", sensor)
    return {"simulator": simulator, "sensor": sensor}


if __name__ == "__main__":
    main()
