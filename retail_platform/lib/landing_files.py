"""Turn one landing file into rows of text, or say exactly why it cannot be read.

The raw layer keeps values as the text that landed, so a JSONL file and a CSV
file with the same content produce the same rows, and a bad value (``"abc"`` as a
quantity) reaches silver, where it is rejected with a reason instead of taking
the whole file down. Only a file that cannot be parsed at all, or that lacks a
required column, is refused here (and quarantined by the caller). A file may omit an
optional column (``Entity.optional``): it comes out as a null column, so every file of
an entity gives the same columns.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import tempfile

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from retail_platform.lib.entities import Entity

EXTRA_COLUMN = "_extra"
LINE_COLUMN = "_source_line"


class MalformedFile(ValueError):
    """A landing file that cannot be loaded; the message is the readable reason."""


def read_landing_file(entity: Entity, path: str, data: bytes) -> pa.Table:
    """Rows of ``data`` as text columns in contract order, plus ``_extra`` (unexpected
    fields as a JSON object, or null) and ``_source_line`` (1-based line in the file),
    as an Arrow table of :func:`file_schema`."""
    if path.endswith(".csv"):
        return _read_csv(entity, data)
    if path.endswith(".jsonl"):
        return _read_jsonl(entity, data)
    raise MalformedFile(f"{path}: unknown file type (expected .jsonl or .csv)")


def file_schema(entity: Entity) -> pa.Schema:
    return pa.schema(
        [
            *(pa.field(name, pa.string()) for name in entity.column_names),
            pa.field(EXTRA_COLUMN, pa.string()),
            pa.field(LINE_COLUMN, pa.int64()),
        ]
    )


def _missing_columns_error(entity: Entity, present: set[str]) -> None:
    """Refuse a file without one of the entity's required columns (optional ones may be
    absent)."""
    missing = [c for c in entity.required_column_names if c not in present]
    if missing:
        raise MalformedFile(
            f"does not match the {entity.name} schema: missing column(s) {', '.join(missing)}"
        )


def _extras_as_json(table: pa.Table, extra_columns: list[str]) -> pa.Array:
    if not extra_columns:
        return pa.nulls(table.num_rows, pa.string())
    return pa.array(
        [
            json.dumps(present)
            if (present := {k: v for k, v in row.items() if v is not None})
            else None
            for row in table.select(extra_columns).to_pylist()
        ],
        pa.string(),
    )


def _read_csv(entity: Entity, data: bytes) -> pa.Table:
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
    extra_columns = [c for c in header if c not in set(entity.column_names)]
    columns = [
        table.column(name) if name in header else pa.nulls(table.num_rows, pa.string())
        for name in entity.column_names
    ]
    lines = pa.array(range(2, table.num_rows + 2), pa.int64())
    return pa.Table.from_arrays(
        [*columns, _extras_as_json(table, extra_columns), lines], schema=file_schema(entity)
    )


def _read_jsonl(entity: Entity, data: bytes) -> pa.Table:
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


def _query_jsonl(entity: Entity, file_name: str) -> pa.Table:
    """One DuckDB pass over the file: each line parsed into the contract's columns as text
    (json_transform: numbers keep DuckDB's text of them, as ``->>`` gives), with its line
    number, whether it is an object (asked only of lines without keys: a non-object has
    none), and its keys unless they are exactly the contract's columns in order, with or
    without the optional ones: most lines' are, and handing every line's keys to Arrow
    cost ~20% of the query. A column no line has is null (json_transform). Rows come in
    any order; ``_source_line`` numbers them."""
    known = entity.column_names
    # Identifiers and the structure come from the contract (entities.py), never from
    # file content.
    structure = json.dumps(dict.fromkeys(known, "VARCHAR")).replace("'", "''")
    known_list = ", ".join(f"'{name}'" for name in known)
    required_list = ", ".join(f"'{name}'" for name in entity.required_column_names)
    connection = _parser().cursor()
    try:
        parsed = connection.sql(
            f"""SELECT line, is_object,
                   CASE WHEN keys <> [{known_list}] AND keys <> [{required_list}]
                        THEN keys END AS other_keys,
                   CASE WHEN is_object THEN json_transform(json, '{structure}') END AS fields,
                   CASE WHEN keys <> [{known_list}]
                         AND len(list_filter(keys,
                                 lambda k: NOT list_contains([{known_list}], k))) > 0
                        THEN json END AS {EXTRA_COLUMN}
            FROM (SELECT json, line, keys,
                         CASE WHEN len(keys) > 0 THEN true
                              ELSE json_type(json) = 'OBJECT' END AS is_object
                  FROM (SELECT json, row_number() OVER () AS line, json_keys(json) AS keys
                        FROM read_ndjson_objects(?)))""",
            params=[file_name],
        ).to_arrow_table()
    except duckdb.InvalidInputException:
        reason = _first_bad_json_line(file_name)
        raise MalformedFile(f"cannot parse JSON lines: {reason}") from None
    finally:
        connection.close()
    objects = parsed.column("is_object")
    if pc.any(pc.invert(objects)).as_py():
        first = pc.min(pc.filter(parsed.column("line"), pc.invert(objects))).as_py()
        raise MalformedFile(f"line {first} is not a JSON object")
    other_keys = parsed.column("other_keys")
    if other_keys.null_count == 0:  # no line has exactly the contract's columns
        # (a column counts as present when any line has it; a line without it is null)
        _missing_columns_error(entity, set(pc.unique(pc.list_flatten(other_keys)).to_pylist()))
    fields = parsed.column("fields").combine_chunks()
    columns = [fields.field(name) for name in known]
    extras = _only_unexpected(parsed.column(EXTRA_COLUMN), set(known))
    table = pa.Table.from_arrays(
        [*columns, extras, parsed.column("line")],
        names=[*known, EXTRA_COLUMN, LINE_COLUMN],
    )
    return table.cast(file_schema(entity))


def _only_unexpected(raw_rows: pa.ChunkedArray, known: set[str]) -> pa.Array:
    """``_extra``: the unexpected fields of the rows that have any (rare), as JSON."""
    if raw_rows.null_count == len(raw_rows):
        return pa.nulls(len(raw_rows), pa.string())
    return pa.array(
        [
            None
            if raw is None
            else json.dumps({k: v for k, v in json.loads(raw).items() if k not in known})
            for raw in raw_rows.to_pylist()
        ],
        pa.string(),
    )


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


def _empty(entity: Entity) -> pa.Table:
    return file_schema(entity).empty_table()
