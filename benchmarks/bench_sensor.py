"""How long a landing-sensor tick takes with many files in the zone.

Fills a local landing zone with N small valid files (default 100,000), then times
(1) the first tick (lists everything, validates the oldest batch of new files,
builds run requests) and (2) a tick when nothing is new (listing only).

    python -m benchmarks.bench_sensor [--files N] [--quick]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date, timedelta

import dagster as dg

from retail_platform.defs.jobs import daily_pipeline
from retail_platform.defs.landing.cursor import LandingCursor
from retail_platform.defs.landing.sensors import (
    DEFAULT_MAX_FILES_PER_TICK,
    build_landing_sensor,
)
from retail_platform.lib.entities import ENTITIES
from retail_platform.lib.landing_zone import LocalLandingZone, landing_path
from retail_platform.lib.partitions import start_date
from retail_platform_tests.helpers.handmade import jsonl, row


def fill(zone: LocalLandingZone, files: int) -> None:
    entities = list(ENTITIES)
    per_day = len(entities) * 4
    start = date.fromisoformat(start_date())  # files dated before it would be quarantined
    for i in range(files):
        day = start + timedelta(days=i // per_day)
        entity = entities[i % len(entities)]
        path = landing_path(entity, day, f"batch-{i % per_day:02d}", "jsonl")
        zone.write_bytes(path, jsonl([row(entity, day)]))


def tick(sensor, zone, cursor):
    context = dg.build_sensor_context(cursor=cursor, resources={"landing_zone": zone})
    started = time.perf_counter()
    result = sensor(context)
    seconds = time.perf_counter() - started
    requests = result.run_requests if isinstance(result, dg.SensorResult) else []
    return seconds, len(requests or []), context.cursor


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="1,000 files")
    args = parser.parse_args(argv)
    files = 1_000 if args.quick else args.files

    with tempfile.TemporaryDirectory() as folder:
        # settle_seconds=0: the files are complete; the benchmark times the listing.
        zone = LocalLandingZone(root=folder, settle_seconds=0)
        started = time.perf_counter()
        fill(zone, files)
        fill_seconds = time.perf_counter() - started
        sensor = build_landing_sensor(daily_pipeline)
        tick(sensor, zone, None)  # warm-up: imports, DuckDB start
        busy, requests, _ = tick(sensor, zone, None)
        everything_seen = LandingCursor().advanced_past(sorted(zone.list_files())).serialize()
        idle = min(tick(sensor, zone, everything_seen)[0] for _ in range(3))
    figures = {
        "files in the landing zone": f"{files:,}",
        "files validated per tick (cap)": DEFAULT_MAX_FILES_PER_TICK,
        "busy tick: list all, validate the cap, request runs (s)": f"{busy:.2f}",
        "run requests from that tick": requests,
        "idle tick: list all, nothing new (s)": f"{idle:.2f}",
        "time to create the files (s)": f"{fill_seconds:.1f}",
    }
    for name, value in figures.items():
        print(f"{name:<55} {value}")
    return figures


if __name__ == "__main__":
    main()
