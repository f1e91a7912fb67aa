"""Rows in the landing files, counted without the platform's code: the fault suite's
independent count (rows lost = 0, rows duplicated = 0 are checked against it)."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path

QUARANTINE = "quarantine"


def rows_in_file(path: Path) -> list[dict]:
    """The rows of one JSONL or CSV landing file, parsed with the standard library."""
    text = path.read_bytes().decode("utf-8-sig")
    if path.suffix == ".csv":
        return list(csv.DictReader(io.StringIO(text)))
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def landed_rows(root: Path, entity: str) -> Counter[str]:
    """Rows per folder date (``YYYY-MM-DD``) of ``entity``'s files under ``root``, the
    quarantine excluded."""
    counts: Counter[str] = Counter()
    for path in sorted((Path(root) / entity).glob("transaction_date=*/*")):
        if path.suffix in (".jsonl", ".csv") and not path.name.startswith("."):
            counts[path.parent.name.removeprefix("transaction_date=")] += len(rows_in_file(path))
    return counts


def quarantined_files(root: Path) -> list[str]:
    """Paths (relative to the zone) of the files in quarantine, reports excluded."""
    folder = Path(root) / QUARANTINE
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and not p.name.endswith(".error.json")
    )
