"""What machine a benchmark ran on, and how its figures are recorded.

A recorded run replaces its benchmark's section of ``RESULTS.md`` (the latest figures, one
section per benchmark) and appends its figures to ``history.csv`` (every recorded run, one
row per figure). Both paths are module attributes, so a test can point them elsewhere.
"""

from __future__ import annotations

import csv
import os
import platform
from contextlib import suppress
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")
HISTORY = Path(__file__).with_name("history.csv")
HISTORY_COLUMNS = ("date", "machine", "benchmark", "figure", "value")
RESULTS_HEADER = """\
# Benchmark results

The latest recorded run of each benchmark, with the machine it ran on. `make bench`
(`python -m benchmarks.run --record`) replaces a benchmark's section here and appends its
figures to `benchmarks/history.csv` (date in UTC, machine, benchmark, figure, value), which
holds every recorded run. Figures are measurements, not assertions; the test suite only runs
`benchmarks/run.py --quick` to prove the scripts work. docs/performance.md explains them.
"""


def cpu() -> str:
    """The processor's model and clock, as Linux reports them: two machines with the same
    cores and memory can differ by 1.5x in these figures."""
    fields: dict[str, str] = {}
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            name, _, value = line.partition(":")
            fields.setdefault(name.strip(), value.strip())
    model = " ".join(
        part
        for part in (fields.get("model name"), fields.get("model") and f"model {fields['model']}")
        if part
    )
    clock = fields.get("cpu MHz")
    return (
        ", ".join(part for part in (model, clock and f"{float(clock):.0f} MHz") if part)
        or platform.processor()
        or "unknown CPU"
    )


def machine() -> str:
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = ", ".join(
        f"{name} {version(name)}" for name in ("dagster", "dbt-core", "duckdb", "pandas", "pyarrow")
    )
    return (
        f"{os.cpu_count()} cores ({cpu()}), {memory_gib:.0f} GiB, {platform.machine()}, "
        f"Python {platform.python_version()}; {versions}"
    )


def section_title(heading: str) -> str:
    """The benchmark a ``## `` heading names (older headings carried `` — <date>``)."""
    return heading.removeprefix("## ").split(" — ")[0].strip()


def split_sections(text: str) -> tuple[str, list[tuple[str, str]]]:
    """RESULTS.md as its header and its (benchmark title, section text) pairs, in order."""
    header, sections = [], []
    for line in text.splitlines(keepends=True):
        if line.startswith("## "):
            sections.append([section_title(line), line])
        elif sections:
            sections[-1][1] += line
        else:
            header.append(line)
    return "".join(header), [(title, body) for title, body in sections]


def format_section(
    title: str, stamp: str, machine_line: str, figures: dict[str, object], notes: str = ""
) -> str:
    lines = [
        f"## {title}",
        "",
        f"Recorded {stamp} UTC. Machine: {machine_line}",
        "",
        "| figure | value |",
        "|---|---|",
    ]
    lines += [f"| {name} | {value} |" for name, value in figures.items()]
    if notes:
        lines += ["", notes]
    return "\n".join(lines) + "\n"


def replace_section(text: str, title: str, section: str) -> str:
    """``text`` (RESULTS.md) with ``title``'s section replaced, or appended when new."""
    header, sections = split_sections(text)
    if not header.strip():
        header = RESULTS_HEADER
    replaced = False
    for index, (name, _) in enumerate(sections):
        if name == title:
            if not replaced:
                sections[index] = (title, section)
                replaced = True
            else:  # a duplicate left by hand: the new section stands for both
                sections[index] = (title, "")
    if not replaced:
        sections.append((title, section))
    bodies = [body.rstrip("\n") + "\n" for _, body in sections if body]
    return header.rstrip("\n") + "\n\n" + "\n".join(bodies)


def append_history(
    path: Path, stamp: str, machine_line: str, title: str, figures: dict[str, object]
) -> None:
    new_file = not path.exists() or path.stat().st_size == 0
    with path.open("a", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        if new_file:
            writer.writerow(HISTORY_COLUMNS)
        for name, value in figures.items():
            writer.writerow((stamp, machine_line, title, name.strip(), value))


def record(
    title: str,
    figures: dict[str, object],
    notes: str = "",
    *,
    results: Path | None = None,
    history: Path | None = None,
    when: datetime | None = None,
) -> None:
    """Replace ``title``'s section of RESULTS.md with these figures and the machine, and
    append them to history.csv. ``results``/``history`` default to the module's paths."""
    results = RESULTS if results is None else results
    history = HISTORY if history is None else history
    stamp = (when or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    machine_line = machine()
    section = format_section(title, stamp, machine_line, figures, notes)
    text = results.read_text() if results.exists() else ""
    results.write_text(replace_section(text, title, section))
    append_history(history, stamp, machine_line, title, figures)
