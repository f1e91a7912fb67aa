"""What machine a benchmark ran on, and how its figures are recorded."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def machine() -> str:
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = ", ".join(
        f"{name} {version(name)}" for name in ("dagster", "dbt-core", "duckdb", "pandas", "pyarrow")
    )
    return (
        f"{os.cpu_count()} cores, {memory_gib:.0f} GiB, {platform.machine()}, "
        f"Python {platform.python_version()}; {versions}"
    )


def record(title: str, figures: dict[str, object], notes: str = "") -> None:
    """Append one result block to benchmarks/RESULTS.md."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"\n## {title} — {stamp}\n",
        f"Machine: {machine()}\n",
        "| figure | value |",
        "|---|---|",
    ]
    lines += [f"| {name} | {value} |" for name, value in figures.items()]
    if notes:
        lines += ["", notes]
    with RESULTS.open("a") as handle:
        handle.write("\n".join(lines) + "\n")
