"""How a recorded benchmark run is kept (benchmarks/_machine.py), on temporary files: its
section of RESULTS.md is replaced (one section per benchmark, the latest run) and its
figures are appended to history.csv. No benchmark runs here."""

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest

from benchmarks import _machine

BACKFILL = "Year backfill, platform vs DuckDB baseline"
DAILY = "Daily incremental run"


@pytest.fixture
def files(tmp_path, monkeypatch):
    results, history = tmp_path / "RESULTS.md", tmp_path / "history.csv"
    monkeypatch.setattr(_machine, "RESULTS", results)
    monkeypatch.setattr(_machine, "HISTORY", history)
    monkeypatch.setattr(_machine, "machine", lambda: "2 cores, 24 GiB, x86_64")
    return results, history


def history_rows(path):
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_first_record_writes_the_header_a_section_and_the_history(files):
    results, history = files
    _machine.record(
        BACKFILL, {"platform (s)": 326.2}, when=datetime(2026, 11, 23, 22, 4, tzinfo=UTC)
    )

    text = results.read_text()
    assert text.startswith("# Benchmark results\n")
    assert f"## {BACKFILL}\n" in text
    assert "Recorded 2026-11-23 22:04 UTC. Machine: 2 cores, 24 GiB, x86_64" in text
    assert "| platform (s) | 326.2 |" in text
    assert history.read_text().splitlines()[0] == ",".join(_machine.HISTORY_COLUMNS)
    assert history_rows(history) == [
        {
            "date": "2026-11-23 22:04",
            "machine": "2 cores, 24 GiB, x86_64",
            "benchmark": BACKFILL,
            "figure": "platform (s)",
            "value": "326.2",
        }
    ]


def test_a_new_run_replaces_its_section_in_place_and_appends_to_the_history(files):
    results, history = files
    results.write_text("# Benchmark results\n\nWhat this file is.\n")
    first = datetime(2026, 11, 23, 22, 4, tzinfo=UTC)
    _machine.record(BACKFILL, {"platform (s)": 326.2, "baseline (s)": "197.9"}, when=first)
    _machine.record(DAILY, {"H=30 (s)": "18.0, 21.9"}, when=first)
    _machine.record(
        BACKFILL,
        {"platform (s)": 300.0, "  raw (s)": 120.5},
        notes="A note.",
        when=datetime(2026, 12, 7, 9, 0, tzinfo=UTC),
    )

    text = results.read_text()
    assert text.startswith("# Benchmark results\n\nWhat this file is.\n")
    assert text.count(f"## {BACKFILL}") == 1 and text.count(f"## {DAILY}") == 1
    # the replaced section keeps its place before the daily one, with only the new figures
    assert text.index(f"## {BACKFILL}") < text.index(f"## {DAILY}")
    assert "Recorded 2026-12-07 09:00 UTC" in text and "22:04 UTC" in text  # daily kept
    assert "| platform (s) | 300.0 |" in text and "326.2" not in text
    assert "197.9" not in text and "A note." in text
    assert "| H=30 (s) | 18.0, 21.9 |" in text

    rows = history_rows(history)
    assert [(r["date"], r["benchmark"], r["figure"], r["value"]) for r in rows] == [
        ("2026-11-23 22:04", BACKFILL, "platform (s)", "326.2"),
        ("2026-11-23 22:04", BACKFILL, "baseline (s)", "197.9"),
        ("2026-11-23 22:04", DAILY, "H=30 (s)", "18.0, 21.9"),
        ("2026-12-07 09:00", BACKFILL, "platform (s)", "300.0"),
        ("2026-12-07 09:00", BACKFILL, "raw (s)", "120.5"),
    ]
    assert history.read_text().count("date,machine") == 1  # one header row


def test_older_dated_headings_are_replaced_too(files):
    results, _ = files
    results.write_text(
        "# Benchmark results\n\n"
        f"## {DAILY} — 2026-11-23 21:50 UTC\n\n| figure | value |\n|---|---|\n| old | 1 |\n\n"
        f"## {DAILY} — 2026-11-23 22:10 UTC\n\n| figure | value |\n|---|---|\n| old | 2 |\n"
    )
    _machine.record(DAILY, {"new": 3}, when=datetime(2026, 12, 7, tzinfo=UTC))
    text = results.read_text()
    assert text.count("## ") == 1 and "| new | 3 |" in text and "| old |" not in text


def test_the_committed_results_hold_one_section_per_benchmark_and_a_parsable_history():
    header, sections = _machine.split_sections(_machine.RESULTS.read_text())
    titles = [title for title, _ in sections]
    assert len(titles) == len(set(titles)) == 5
    assert all("Machine: " in body for _, body in sections)
    rows = history_rows(_machine.HISTORY)
    assert set(rows[0]) == set(_machine.HISTORY_COLUMNS)
    assert set(titles) <= {row["benchmark"] for row in rows}


def test_make_bench_records_through_record(files, monkeypatch):
    """`benchmarks/run.py --record` (what `make bench` runs) writes through record(); the
    benchmark itself is replaced by its figures."""
    from benchmarks import run

    results, history = files
    figures = {"files in the landing zone": "100,000", "idle tick (s)": 1.97}
    monkeypatch.setattr(run.bench_sensor, "main", lambda quick: figures)
    assert run.main(["--only", "sensor", "--record"]) == {"sensor": figures}
    assert "## Landing sensor tick, local zone\n" in results.read_text()
    assert [row["figure"] for row in history_rows(history)] == list(figures)
    # --quick figures are never recorded
    run.main(["--only", "sensor", "--record", "--quick"])
    assert len(history_rows(history)) == len(figures)


def test_the_machine_names_its_processor():
    """Two machines with the same cores and memory differ in these figures by their CPU:
    the recorded machine says which one it was (Linux's /proc/cpuinfo)."""
    cpuinfo = Path("/proc/cpuinfo")
    assert cpuinfo.exists(), "the benchmarks run on Linux"
    model = next(
        line.partition(":")[2].strip()
        for line in cpuinfo.read_text().splitlines()
        if line.startswith("model name")
    )
    assert f"cores ({model}" in _machine.machine()
