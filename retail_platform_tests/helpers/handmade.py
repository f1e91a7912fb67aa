"""Small hand-written landing files, independent of the simulator."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

from retail_platform.lib.entities import ENTITIES

_SAMPLE_VALUES = {
    "string": "x",
    "int": 1,
    "decimal": 9.99,
    "rate": 0.1,
    "bool": False,
}

#: Columns whose value a rule restricts beyond its type (a sample "x" would be rejected).
_SAMPLE_BY_NAME = {"gender": "female", "birth_date": "1985-06-15"}


def row(entity: str, day: date, **overrides: object) -> dict[str, object]:
    """A contract-shaped row of ``entity`` for ``day`` with plausible values."""
    values: dict[str, object] = {}
    for name, kind in ENTITIES[entity].columns:
        if name in _SAMPLE_BY_NAME:
            values[name] = _SAMPLE_BY_NAME[name]
        elif kind == "date":
            values[name] = day.isoformat()
        elif kind == "timestamp":
            values[name] = f"{day.isoformat()}T10:00:00Z"
        elif name.endswith("_id"):
            values[name] = f"{name[:1].upper()}001"
        else:
            values[name] = _SAMPLE_VALUES[kind]
    values.update(overrides)
    return values


def jsonl(rows: list[dict[str, object]]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def csv_bytes(rows: list[dict[str, object]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ("" if v is None else str(v).lower() if isinstance(v, bool) else v)
                         for k, v in r.items()})  # fmt: skip
    return out.getvalue().encode()
