"""Turn one landing file into rows of text, or say exactly why it cannot be read.

The raw layer keeps values as the text that landed, so a JSONL file and a CSV
file with the same content produce the same rows, and a bad value (``"abc"`` as a
quantity) reaches silver, where it is rejected with a reason instead of taking
the whole file down. Only a file that cannot be parsed at all, or that lacks a
required column, is refused here (and quarantined by the caller).
"""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import tempfile

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from retail_platform.lib.entities import Entity

EXTRA_COLUMN = "_extra"
LINE_COLUMN = "_source_line"


class MalformedFile(ValueError):
    """A landing file that cannot be loaded; the message is the readable reason."""


def read_landing_file(entity: Entity, path: str, data: bytes) -> pd.DataFrame:
    """Rows of ``data`` as text columns in contract order, plus ``_extra`` (unexpected
    fields as a JSON object, or null) and ``_source_line`` (1-based line in the file)."""
    if path.endswith(".csv"):
        return _read_csv(entity, data)
    if path.endswith(".jsonl"):
        return _read_jsonl(entity, data)
    raise MalformedFile(f"{path}: unknown file type (expected .jsonl or .csv)")


def _missing_columns_error(entity: Entity, present: set[str]) -> None:
    missing = [c for c in entity.column_names if c not in present]
    if missing:
        raise MalformedFile(
            f"does not match the {entity.name} schema: missing column(s) {', '.join(missing)}"
        )


def _extras_as_json(frame: pd.DataFrame, extra_columns: list[str]) -> pd.Series:
    if not extra_columns:
        return pd.Series([None] * len(frame), index=frame.index, dtype=object)
    extras = frame[extra_columns]
    return pd.Series(
        [
            json.dumps(present)
            if (present := {k: v for k, v in row.items() if v is not None})
            else None
            for row in extras.to_dict(orient="records")
        ],
        index=frame.index,
        dtype=object,
    )


def _read_csv(entity: Entity, data: bytes) -> pd.DataFrame:
    try:
        text = data.decode("utf-8-sig") if data else ""
    except UnicodeDecodeError as error:
        raise MalformedFile(f"not UTF-8: {error}") from None
    first_line = text.split("\n", 1)[0]
    if not first_line.strip():
        raise MalformedFile("empty CSV file: no header line")
    header = next(csv.reader([first_line]))
    if len(set(header)) != len(header):
        raise MalformedFile(f"CSV header repeats a column: {header}")
    _missing_columns_error(entity, set(header))
    try:
        table = pa_csv.read_csv(
            io.BytesIO(data),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as error:
        raise MalformedFile(f"cannot parse CSV: {error}") from None
    frame = table.to_pandas(types_mapper=None)
    frame = frame.astype(object).where(frame.notna(), None)
    extra_columns = [c for c in header if c not in set(entity.column_names)]
    result = frame[entity.column_names].copy()
    result[EXTRA_COLUMN] = _extras_as_json(frame, extra_columns)
    result[LINE_COLUMN] = range(2, len(result) + 2)
    return result.reset_index(drop=True)


def _read_jsonl(entity: Entity, data: bytes) -> pd.DataFrame:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MalformedFile(f"not UTF-8: {error}") from None
    if not data.strip():
        return _empty(entity)
    with tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False) as handle:
        handle.write(data)
        file_name = handle.name
    try:
        return _query_jsonl(entity, file_name)
    finally:
        os.unlink(file_name)


def _query_jsonl(entity: Entity, file_name: str) -> pd.DataFrame:
    known = entity.column_names
    # Identifiers come from the contract (entities.py), never from file content.
    fields = ", ".join(f"json ->> '{name}' AS \"{name}\"" for name in known)
    known_list = ", ".join(f"'{name}'" for name in known)
    connection = _parser().cursor()
    try:
        try:
            connection.execute(
                "CREATE TEMP TABLE landed AS "
                "SELECT json, row_number() OVER () AS line FROM read_ndjson_objects(?)",
                [file_name],
            )
        except duckdb.InvalidInputException:
            reason = _first_bad_json_line(file_name)
            raise MalformedFile(f"cannot parse JSON lines: {reason}") from None
        not_object = connection.execute(
            "SELECT min(line) FROM landed WHERE json_type(json) <> 'OBJECT'"
        ).fetchone()[0]
        if not_object is not None:
            raise MalformedFile(f"line {not_object} is not a JSON object")
        keys = connection.execute("SELECT DISTINCT unnest(json_keys(json)) FROM landed")
        _missing_columns_error(entity, {row[0] for row in keys.fetchall()})
        frame = connection.execute(
            f"""SELECT {fields},
                   CASE WHEN len(list_filter(json_keys(json),
                                 lambda k: NOT list_contains([{known_list}], k))) > 0
                        THEN json END AS {EXTRA_COLUMN},
                   line AS {LINE_COLUMN}
            FROM landed ORDER BY line"""
        ).df()
    finally:
        connection.close()
    has_extra = frame[EXTRA_COLUMN].notna()
    if has_extra.any():
        frame.loc[has_extra, EXTRA_COLUMN] = [
            json.dumps({k: v for k, v in json.loads(raw).items() if k not in set(known)})
            for raw in frame.loc[has_extra, EXTRA_COLUMN]
        ]
    return frame


@functools.cache
def _parser() -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB per process (connecting costs ~20 ms; a cursor, nothing)."""
    connection = duckdb.connect()
    connection.execute("SET threads = 1")  # keeps row_number() in file order
    return connection


def _first_bad_json_line(file_name: str) -> str:
    with open(file_name, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                json.loads(line)
            except json.JSONDecodeError as error:
                return f"line {number}: {error.msg} (column {error.colno})"
    return "the file is not valid JSON lines"


def _empty(entity: Entity) -> pd.DataFrame:
    frame = pd.DataFrame({name: pd.Series(dtype=object) for name in entity.column_names})
    frame[EXTRA_COLUMN] = pd.Series(dtype=object)
    frame[LINE_COLUMN] = pd.Series(dtype="int64")
    return frame
