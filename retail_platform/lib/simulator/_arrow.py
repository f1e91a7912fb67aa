"""Vectorised builders for the Arrow columns the simulator emits.

Everything here turns numpy arrays into ``pyarrow`` arrays without a Python loop
per row: ids and timestamps are fixed-width byte matrices wrapped as string
arrays, money is integer cents wrapped as ``decimal128`` buffers.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa

from retail_platform.lib.entities import ENTITIES

EPOCH = date(1970, 1, 1)
SECONDS_PER_DAY = 86_400

MONEY = pa.decimal128(18, 2)
RATE = pa.decimal128(3, 2)
_ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int": pa.int64(),
    "decimal": MONEY,
    "rate": RATE,
    "date": pa.string(),
    "timestamp": pa.string(),
    "bool": pa.bool_(),
}

#: The Arrow schema of every ``LandingBatch.table``: ids, dates and timestamps are
#: strings exactly as they land (so an impossible date can be represented), money is
#: ``decimal128(18, 2)``, rates ``decimal128(3, 2)``, counts ``int64``.
SCHEMAS: dict[str, pa.Schema] = {
    name: pa.schema([pa.field(col, _ARROW_TYPES[kind]) for col, kind in ent.columns])
    for name, ent in ENTITIES.items()
}


def epoch_day(day: date) -> int:
    return (day - EPOCH).days


def _validity(valid: np.ndarray | None) -> pa.Buffer | None:
    if valid is None or bool(valid.all()):
        return None
    return pa.py_buffer(np.packbits(valid.astype(np.uint8), bitorder="little"))


def matrix_strings(mat: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Wrap an ``(n, width)`` uint8 matrix as a string array (one row = one value)."""
    mat = np.ascontiguousarray(mat, dtype=np.uint8)
    n, width = mat.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32) if n else np.zeros(1, np.int32)
    return pa.Array.from_buffers(
        pa.string(),
        n,
        [_validity(valid), pa.py_buffer(offsets), pa.py_buffer(mat)],
        null_count=-1,
    )


# "0000".."9999" as ASCII digits, one row per number (vectorized: imports stay quick)
_QUADS = (np.arange(10_000)[:, None] // np.array([1000, 100, 10, 1]) % 10 + ord("0")).astype(
    np.uint8
)


def _put_digits(mat: np.ndarray, col: int, values: np.ndarray, width: int) -> None:
    """Write ``values`` zero-padded to ``width`` digits into ``mat[:, col:col + width]``."""
    rest = values.astype(np.int64, copy=True)
    end = col + width
    while end > col:
        digits = min(4, end - col)
        rest, group = np.divmod(rest, 10_000)
        rows = np.take(_QUADS, group, axis=0)
        mat[:, end - digits : end] = rows[:, 4 - digits :] if digits < 4 else rows
        end -= digits


def id_matrix(prefix: str, numbers: np.ndarray, width: int, extra: int = 0) -> np.ndarray:
    """``(n, len(prefix) + width + extra)`` bytes: prefix, zero-padded number, ``extra``
    bytes left for the caller to fill."""
    numbers = np.asarray(numbers, dtype=np.int64)
    if len(numbers) and (numbers.min() < 0 or numbers.max() >= 10**width):
        raise ValueError(f"{prefix!r} ids only have {width} digits")
    prefix_bytes = prefix.encode()
    mat = np.empty((len(numbers), len(prefix_bytes) + width + extra), np.uint8)
    if prefix_bytes:
        mat[:, : len(prefix_bytes)] = np.frombuffer(prefix_bytes, np.uint8)
    _put_digits(mat, len(prefix_bytes), numbers, width)
    return mat


def fixed_ids(
    prefix: str, numbers: np.ndarray, width: int, valid: np.ndarray | None = None
) -> pa.Array:
    """``prefix`` + ``numbers`` zero-padded to exactly ``width`` digits."""
    return matrix_strings(id_matrix(prefix, numbers, width), valid)


_TABLE_FIRST_DAY = -25_567  # 1900-01-01
_TABLE_LAST_DAY = 84_000  # 2199-12-24
_DATE_TABLE: np.ndarray | None = None
_TIME_TABLE: np.ndarray | None = None


def _date_table() -> np.ndarray:
    """``YYYY-MM-DD`` bytes for every day 1900..2199 (built once, 1.1 MB)."""
    global _DATE_TABLE
    if _DATE_TABLE is None:
        days = np.arange(_TABLE_FIRST_DAY, _TABLE_LAST_DAY + 1).astype("datetime64[D]")
        _DATE_TABLE = np.frombuffer(days.astype("S10").tobytes(), np.uint8).reshape(-1, 10)
    return _DATE_TABLE


def _time_table() -> np.ndarray:
    """``THH:MM:SSZ`` bytes for every second of a day (built once, 0.9 MB)."""
    global _TIME_TABLE
    if _TIME_TABLE is None:
        sod = np.arange(SECONDS_PER_DAY)
        mat = np.empty((SECONDS_PER_DAY, 10), np.uint8)
        mat[:, 0] = ord("T")
        mat[:, 3] = mat[:, 6] = ord(":")
        mat[:, 9] = ord("Z")
        _put_digits(mat, 1, sod // 3600, 2)
        _put_digits(mat, 4, sod // 60 % 60, 2)
        _put_digits(mat, 7, sod % 60, 2)
        _TIME_TABLE = mat
    return _TIME_TABLE


def _date_rows(epoch_days: np.ndarray) -> np.ndarray:
    idx = epoch_days - _TABLE_FIRST_DAY
    if len(idx) and (idx.min() < 0 or idx.max() > _TABLE_LAST_DAY - _TABLE_FIRST_DAY):
        raise ValueError("dates must be within 1900..2199")
    return np.take(_date_table(), idx, axis=0)


def date_strings(epoch_days: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """``YYYY-MM-DD`` for days since 1970-01-01."""
    return matrix_strings(_date_rows(np.asarray(epoch_days, dtype=np.int64)), valid)


def timestamp_matrix(seconds: np.ndarray) -> np.ndarray:
    """``(n, 20)`` bytes ``YYYY-MM-DDTHH:MM:SSZ`` (UTC) for seconds since the Unix epoch."""
    seconds = np.asarray(seconds, dtype=np.int64)
    days, sod = np.divmod(seconds, SECONDS_PER_DAY)
    mat = np.empty((len(seconds), 20), np.uint8)
    mat[:, :10] = _date_rows(days)
    mat[:, 10:] = np.take(_time_table(), sod, axis=0)
    return mat


def timestamp_strings(seconds: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """``YYYY-MM-DDTHH:MM:SSZ`` (UTC) for seconds since the Unix epoch."""
    return matrix_strings(timestamp_matrix(seconds), valid)


def decimals(cents: np.ndarray, type_: pa.DataType = MONEY) -> pa.Array:
    """Integer hundredths -> ``decimal128(p, 2)`` without going through floats."""
    cents = np.asarray(cents, dtype=np.int64)
    words = np.empty((len(cents), 2), np.int64)
    words[:, 0] = cents
    words[:, 1] = cents >> 63  # sign extension of the 128-bit two's complement
    return pa.Array.from_buffers(type_, len(cents), [None, pa.py_buffer(words)])


def repeat(value: str, n: int) -> pa.Array:
    """``n`` copies of ``value`` (much faster than ``pa.repeat`` for strings)."""
    raw = value.encode()
    offsets = np.arange(0, (n + 1) * len(raw), len(raw) or 1, dtype=np.int32)[: n + 1]
    if not raw:
        offsets = np.zeros(n + 1, np.int32)
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(raw * n)]
    )


def _pool_layout(pool: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """(padded bytes ``(n, max_width)``, byte lengths) of a null-free string pool."""
    if not len(pool) or pool.null_count or not pa.types.is_string(pool.type):
        return None
    offsets = np.frombuffer(
        pool.buffers()[1], np.int32, count=len(pool) + 1, offset=pool.offset * 4
    )
    lengths = np.diff(offsets).astype(np.int64)
    width = int(lengths.max())
    if width == 0:
        return None
    data = np.frombuffer(pool.buffers()[2], np.uint8)
    padded = np.zeros((len(pool), width), np.uint8)
    for i, (start, n) in enumerate(zip(offsets[:-1], lengths, strict=True)):
        padded[i, :n] = data[start : start + n]
    return padded, lengths


_LAYOUTS: dict[int, tuple[pa.Array, tuple[np.ndarray, np.ndarray] | None]] = {}


def take(pool: pa.Array, idx: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """``pool[idx]`` (null where ``valid`` is False), gathered as byte rows -- several
    times faster than Arrow's ``take`` on strings. For small, long-lived pools (ids,
    enum values, names); the byte layout of a pool is cached."""
    idx = np.asarray(idx, dtype=np.int64)
    cached = _LAYOUTS.get(id(pool))
    if cached is None or cached[0] is not pool:
        if len(_LAYOUTS) > 256:
            _LAYOUTS.clear()
        cached = _LAYOUTS[id(pool)] = (pool, _pool_layout(pool) if len(pool) <= 10_000 else None)
    layout = cached[1]
    if layout is None:
        return pool.take(pa.array(idx, mask=None if valid is None else ~valid))
    padded, lengths = layout
    rows = np.take(padded, idx, axis=0)
    if lengths.min() == padded.shape[1]:  # fixed width
        return matrix_strings(rows, valid)
    row_len = np.take(lengths, idx)
    offsets = np.zeros(len(idx) + 1, np.int64)
    np.cumsum(row_len, out=offsets[1:])
    data = rows[np.arange(padded.shape[1]) < row_len[:, None]]
    return pa.Array.from_buffers(
        pa.string(),
        len(idx),
        [_validity(valid), pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data)],
        null_count=-1,
    )


def table(entity: str, columns: dict[str, pa.Array]) -> pa.Table:
    """The entity's table in contract order. A contract column the simulator does not
    generate (one just added to retail_platform/contract.toml) lands as nulls."""
    schema = SCHEMAS[entity]
    rows = len(next(iter(columns.values())))
    return pa.Table.from_arrays(
        [columns[f.name] if f.name in columns else pa.nulls(rows, f.type) for f in schema],
        schema=schema,
    )
