"""Tables -> landing-file bytes (JSON Lines or CSV), vectorised with Arrow kernels.

Every value is turned into its text once (ints and decimals via Arrow casts, so
``19.90`` is written exactly as the decimal, never through a binary float) and the
lines are assembled with one element-wise string join; the joined array's data
buffer *is* the file.
"""

from __future__ import annotations

import csv
import io
import json
import zlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

FORMATS = ("jsonl", "csv")
_CHUNK_ROWS = 200_000


def _data(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The bytes referenced by a string array (a zero-copy view) and its offsets."""
    offsets = np.frombuffer(arr.buffers()[1], np.int32, count=len(arr) + 1, offset=arr.offset * 4)
    data = arr.buffers()[2]
    if data is None or not len(arr):
        return np.empty(0, np.uint8), offsets
    return np.frombuffer(data, np.uint8)[int(offsets[0]) : int(offsets[-1])], offsets


def _needs_json_escape(data: np.ndarray) -> bool:
    if not len(data):
        return False
    return bool(data.min() < 0x20 or (data == 0x22).any() or (data == 0x5C).any())


def _needs_csv_quote(data: np.ndarray) -> bool:
    return any(bool((data == c).any()) for c in b',"\n\r')


def _constant(arr: pa.Array) -> str | None:
    """The single value of a non-empty, null-free string array whose values are all
    equal (e.g. ``transaction_date``), else None. Cheap: early exits on lengths and
    on the first rows."""
    n = len(arr)
    if not n or arr.null_count:
        return None
    data, offsets = _data(arr)
    width = int(offsets[1] - offsets[0])
    if width == 0 or len(data) != width * n:
        return None
    mat = data.reshape(n, width)
    head = mat[:64]
    if not (head == mat[0]).all():
        return None
    lengths = np.diff(offsets)
    if lengths.min() != width or lengths.max() != width or not (mat == mat[0]).all():
        return None
    return mat[0].tobytes().decode()


def _decimal_text(col: pa.Array) -> pa.Array:
    """Shortest exact text of a decimal: 19.90 -> "19.9", 19.00 -> "19", 0.05 -> "0.05".

    The same text in JSON and CSV, and what JSON readers give back for the number
    (DuckDB's ``->>`` on 19.90 says "19.9"), so both formats land as identical text."""
    text = pc.cast(col, pa.string())
    if col.type.scale <= 0:
        return text
    # every value has a ".": trimming zeros, then the dot, never touches the integer part
    return pc.ascii_rtrim(pc.ascii_rtrim(text, "0"), ".")


def _text(col: pa.Array) -> tuple[pa.Array, bool]:
    """(text of every value, whether it is a JSON string)."""
    t = col.type
    if pa.types.is_string(t):
        return col, True
    if pa.types.is_large_string(t):
        return col.cast(pa.string()), True
    if pa.types.is_decimal(t):
        return _decimal_text(col), False
    return pc.cast(col, pa.string()), False


def _json_escaped(col: pa.Array) -> pa.Array:
    if not _needs_json_escape(_data(col)[0]):
        return col
    return pa.array(
        [None if v is None else json.dumps(v, ensure_ascii=False)[1:-1] for v in col.to_pylist()],
        pa.string(),
    )


def _csv_escaped(col: pa.Array) -> pa.Array:
    if not _needs_csv_quote(_data(col)[0]):
        return col

    def quote(v: str | None) -> str | None:
        if v is None:
            return None
        if any(c in v for c in ',"\n\r'):
            return '"' + v.replace('"', '""') + '"'
        return v

    return pa.array([quote(v) for v in col.to_pylist()], pa.string())


def _join_bytes(pieces: list) -> bytes:
    joined = pc.binary_join_element_wise(*pieces, "")
    if isinstance(joined, pa.ChunkedArray):
        joined = joined.combine_chunks()
    n = len(joined)
    if not n:
        return b""
    offsets = np.frombuffer(joined.buffers()[1], np.int32, count=n + 1, offset=joined.offset * 4)
    return memoryview(joined.buffers()[2])[int(offsets[0]) : int(offsets[-1])].tobytes()


def _render_chunk(chunk: pa.Table, fmt: str) -> bytes:
    pieces: list = []
    pending = ""  # literal text waiting to be emitted before the next column
    for i, name in enumerate(chunk.column_names):
        col = chunk.column(i).combine_chunks()
        text, is_string = _text(col)
        const = _constant(text) if is_string else None
        if fmt == "jsonl":
            pending += ("{" if i == 0 else ",") + json.dumps(name) + ":"
            if const is not None:  # e.g. transaction_date: fold into the literal text
                pending += json.dumps(const, ensure_ascii=False)
                continue
            if is_string:
                text = _json_escaped(text)
                if text.null_count == 0:
                    pieces += [pending + '"', text]
                    pending = '"'
                    continue
                text = pc.binary_join_element_wise('"', text, '"', "")
            if text.null_count:
                text = pc.fill_null(text, "null")
        else:
            pending += "" if i == 0 else ","
            if const is not None:
                pending += _csv_escaped(pa.array([const]))[0].as_py()
                continue
            if is_string:
                text = _csv_escaped(text)
            if text.null_count:
                text = pc.fill_null(text, "")
        pieces += [pending, text]
        pending = ""
    pieces.append(pending + ("}\n" if fmt == "jsonl" else "\n"))
    if len(pieces) == 1:  # every column constant: each row is the same literal line
        return pieces[0].encode() * chunk.num_rows
    return _join_bytes(pieces)


def _csv_header(names: list[str]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(names)
    return buf.getvalue().encode()


def render_table(table: pa.Table, fmt: str) -> bytes:
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    parts = [_csv_header(table.column_names)] if fmt == "csv" else []
    for start in range(0, table.num_rows, _CHUNK_ROWS):
        parts.append(_render_chunk(table.slice(start, _CHUNK_ROWS), fmt))
    return b"".join(parts)


# ----------------------------------------------------------------------------- malformed

#: How a malformed file is broken, per format (the variant is picked from the path).
MALFORMED_VARIANTS = {
    "jsonl": ("truncated", "garbage_line"),
    "csv": ("broken_header", "garbage_line"),
}
_GARBAGE_JSON_LINE = b"<<< export interrupted: connection reset by peer >>>"
_GARBAGE_CSV_FIELD = b"<<< export interrupted: connection reset by peer >>>"


def malformed_variant(path_key: str, fmt: str) -> str:
    variants = MALFORMED_VARIANTS[fmt]
    return variants[zlib.crc32(path_key.encode()) % len(variants)]


def corrupt(data: bytes, fmt: str, variant: str, n_columns: int) -> bytes:
    """Make a valid file unparseable, deterministically.

    jsonl ``truncated``: the file is cut in the middle of its middle line (the last
    line is half a JSON object, no trailing newline). jsonl ``garbage_line``: a line
    that is not JSON is inserted after the middle line. csv ``broken_header``: the
    header line starts with an unmatched ``"`` (the rest of the file becomes one
    unterminated quoted field). csv ``garbage_line``: a line of text with 3 more fields
    than the header is inserted after the middle data row. Files stay valid UTF-8.
    pandas and pyarrow refuse all of them (DuckDB's CSV sniffer is lenient enough to
    read around the CSV ones).
    """
    header = b""
    body = data
    if fmt == "csv":
        cut = data.index(b"\n") + 1
        header, body = data[:cut], data[cut:]
    lines = body.split(b"\n")[:-1]  # every line ends with "\n"
    if not lines:
        lines = [b""]
    mid = len(lines) // 2
    if variant == "truncated":
        before = b"".join(line + b"\n" for line in lines[:mid])
        return header + before + lines[mid][: max(1, len(lines[mid]) // 2)]
    if variant == "broken_header":
        return b'"' + data
    if variant == "garbage_line":
        if fmt == "jsonl":
            garbage = _GARBAGE_JSON_LINE
        else:
            garbage = _GARBAGE_CSV_FIELD + b"," * (n_columns + 2)
        at = max(1, mid)  # never the first data row (pandas would take it as an index)
        out = lines[:at] + [garbage] + lines[at:]
        return header + b"".join(line + b"\n" for line in out)
    raise ValueError(f"unknown malformed variant {variant!r}")
