"""Fault suite, file level: broken landing files among good ones, through a real run.

Two simulated days (a few dozen orders each; day 1 delivered as JSONL, day 2 as CSV) and,
among each day's good files, the files real sources and machines produce when something
goes wrong: random bytes, a file cut mid-line (a transfer that stopped), a file in another
encoding, an empty file, a file without a required column. One run over both days, every
layer but the churn model's. Each broken file must be quarantined with its reason and
every other file of its day load in full: raw holds exactly the rows of the files left in
the landing zone, counted by the standard library (landed.py), none lost, none twice.

test_landing_files.py has the unit tests of each refusal (its message); this suite is the
end-to-end count around them.
"""

from __future__ import annotations

import json
import random
from datetime import date

import pytest

from retail_platform.lib.entities import ENTITIES
from retail_platform.lib.landing_zone import landing_path
from retail_platform.lib.simulator import FaultConfig, SimulationConfig, render, simulate_day
from retail_platform_tests.helpers.handmade import csv_bytes, jsonl, row
from retail_platform_tests.helpers.landed import landed_rows, quarantined_files, rows_in_file
from retail_platform_tests.helpers.local_platform import LocalPlatform

pytestmark = pytest.mark.faults

DAY_JSONL = date(2025, 1, 1)
DAY_CSV = date(2025, 1, 2)
# Row faults and the simulator's own broken files off: the broken files are the ones below.
CONFIG = SimulationConfig(
    seed=19, orders_per_day=30, faults=FaultConfig(bad_rows=0.0, malformed_files=0.0)
)


def cut_mid_line(data: bytes, line: int) -> bytes:
    """``data`` up to the middle of its ``line``-th line (1-based): a transfer that stopped."""
    lines = data.splitlines(keepends=True)
    assert len(lines) > line, "the file is too short to cut"
    start = sum(len(text) for text in lines[: line - 1])
    return data[: start + len(lines[line - 1]) // 2]


def cut_mid_row(data: bytes, line: int) -> bytes:
    """A CSV file cut two characters into the second field of its ``line``-th line, so that
    row is short of fields (a cut in its last field would leave a parsable row)."""
    lines = data.splitlines(keepends=True)
    start = sum(len(text) for text in lines[: line - 1])
    return data[: data.index(b",", start) + 3]


def latin1(rows: list[dict], fmt: str) -> bytes:
    """Rows written in ISO-8859-1 instead of UTF-8 (a name with an accent)."""
    text = (jsonl(rows) if fmt == "jsonl" else csv_bytes(rows)).decode()
    return text.replace("Zoe", "Zo\u00eb").encode("latin-1")


def broken_files(day: date, fmt: str, good: dict[str, bytes]) -> dict[str, tuple[bytes, str]]:
    """Landing path -> (content, what its quarantine reason must say) of the broken files
    of one day in one format. ``good``: a good file's content per entity, to cut."""
    customers = [row("customers", day, customer_id=f"CX{i}", first_name="Zoe") for i in (1, 2)]
    without_quantity = [
        {k: v for k, v in row("order_items", day, line_no=n).items() if k != "quantity"}
        for n in (1, 2)
    ]
    without_delivered_at = [{k: v for k, v in row("shipments", day).items() if k != "delivered_at"}]
    garbage = random.Random(f"{day}-{fmt}").randbytes(4096)
    if fmt == "jsonl":
        truncated, truncated_reason = cut_mid_line(good["order_items"], 3), "line 3"
        missing, missing_reason = ("order_items", jsonl(without_quantity)), "quantity"
    else:
        truncated, truncated_reason = cut_mid_row(good["order_items"], 4), "cannot parse CSV"
        missing = ("shipments", csv_bytes(without_delivered_at))
        missing_reason = "delivered_at"
    files = {
        landing_path("orders", day, "garbage", fmt): (garbage, "not UTF-8"),
        landing_path("order_items", day, "truncated", fmt): (truncated, truncated_reason),
        landing_path("customers", day, "latin1", fmt): (latin1(customers, fmt), "not UTF-8"),
        landing_path(missing[0], day, "no-required-column", fmt): (
            missing[1],
            f"missing column(s) {missing_reason}",
        ),
    }
    if fmt == "csv":  # an empty JSONL file is zero rows, not a fault (see below)
        files[landing_path("payments", day, "empty", fmt)] = (b"", "no header line")
    return files


@pytest.fixture(scope="module")
def faulty_landing(tmp_path_factory) -> tuple[LocalPlatform, dict[str, tuple[bytes, str]]]:
    root = tmp_path_factory.mktemp("faults-landing-files")
    platform = LocalPlatform(landing_root=root / "landing", database=root / "warehouse.duckdb")
    zone = platform.landing
    broken: dict[str, tuple[bytes, str]] = {}
    for day, fmt in ((DAY_JSONL, "jsonl"), (DAY_CSV, "csv")):
        good: dict[str, bytes] = {}
        for batch in simulate_day(CONFIG, day):
            data = render(batch, fmt)
            zone.write_bytes(batch.path_for(fmt), data)
            if batch.batch_id.endswith("-main"):
                good[batch.entity] = data
        broken.update(broken_files(day, fmt, good))
    for path, (data, _) in broken.items():
        zone.write_bytes(path, data)
    # An empty JSONL file is a file of no rows: it loads (nothing), it is not quarantined.
    zone.write_bytes(landing_path("payments", DAY_JSONL, "empty", "jsonl"), b"")
    assert platform.run(DAY_JSONL, DAY_CSV).success
    return platform, broken


def test_each_broken_file_is_quarantined_with_its_reason(faulty_landing):
    platform, broken = faulty_landing
    root = platform.landing_root
    assert quarantined_files(root) == sorted(broken)
    for path, (data, reason) in broken.items():
        kept = root / "quarantine" / path
        assert kept.read_bytes() == data, path  # moved as it was, nothing rewritten
        assert not (root / path).exists(), path
        report = json.loads(kept.with_name(kept.name + ".error.json").read_text())
        assert report["file"] == path
        assert reason in report["reason"], (path, report["reason"])


def test_raw_holds_exactly_the_rows_of_the_files_left_in_the_landing_zone(faulty_landing):
    """Rows lost = 0 and rows duplicated = 0, per entity and day, against the standard
    library's count of the non-quarantined files."""
    platform, _ = faulty_landing
    root = platform.landing_root
    for entity in ENTITIES:
        raw = dict(
            platform.query(
                "SELECT CAST(CAST(_partition_date AS DATE) AS VARCHAR), count(*) "
                f"FROM retail_raw.{entity} GROUP BY 1"
            )
        )
        expected = landed_rows(root, entity)
        assert expected, entity
        assert raw == dict(expected), entity


def test_every_other_file_of_the_day_loads_in_full_and_once(faulty_landing):
    """File by file: every line of every good file is in raw exactly once, at its line
    number; no row comes from a quarantined file."""
    platform, broken = faulty_landing
    root = platform.landing_root
    checked = 0
    for entity in ENTITIES:
        lines: dict[str, list[int]] = {}
        for source, line in platform.query(
            f"SELECT _source_file, _source_line FROM retail_raw.{entity} ORDER BY 1, 2"
        ):
            lines.setdefault(source, []).append(line)
        assert not set(lines) & set(broken), entity
        for path in sorted((root / entity).glob("transaction_date=*/*")):
            relative = str(path.relative_to(root))
            rows = len(rows_in_file(path))
            first = 2 if path.suffix == ".csv" else 1  # CSV line 1 is the header
            assert lines.pop(relative, []) == list(range(first, first + rows)), relative
            checked += 1
        assert not lines, f"{entity}: rows from files not in the landing zone: {list(lines)}"
    assert checked > 20


def test_nothing_downstream_is_unexplained(faulty_landing):
    """Silver reconciles with raw (raw = silver + rejects + duplicates removed) on both
    days: the quarantined files left no trace past the landing zone."""
    platform, _ = faulty_landing
    assert platform.query("SELECT sum(unexplained_rows) FROM retail_silver.reconciliation") == [
        (0,)
    ]
    assert platform.query("SELECT count(*) FROM retail_silver.rejects") == [(0,)]
