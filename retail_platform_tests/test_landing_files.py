from datetime import date

import pytest

from retail_platform.lib.entities import ENTITIES, ORDER_ITEMS, STORES
from retail_platform.lib.landing_files import MalformedFile, file_schema, read_landing_file
from retail_platform_tests.handmade import csv_bytes, jsonl, row

DAY = date(2025, 1, 6)


def read(entity, path: str, data: bytes):
    """The file as read (an Arrow table of file_schema), as a frame for assertions."""
    table = read_landing_file(entity, path, data)
    assert table.schema == file_schema(entity)
    return table.to_pandas()


def test_jsonl_and_csv_land_as_the_same_text_rows():
    rows = [
        row("order_items", DAY, order_id="O1", line_no=1, unit_price=19.99, discount_rate=0),
        row("order_items", DAY, order_id="O1", line_no=2, quantity=3, unit_price=5, line_amount=15),
    ]
    from_json = read(ORDER_ITEMS, "a.jsonl", jsonl(rows))
    from_csv = read(ORDER_ITEMS, "a.csv", csv_bytes(rows))
    cols = ORDER_ITEMS.column_names
    assert from_json[cols].to_dict("records") == from_csv[cols].to_dict("records")
    assert from_json.loc[0, "unit_price"] == "19.99"
    assert from_json.loc[1, "quantity"] == "3"
    assert list(from_json["_source_line"]) == [1, 2]
    assert list(from_csv["_source_line"]) == [2, 3]  # line 1 is the header


def test_bad_values_are_kept_as_text_for_silver_to_reject():
    bad = row("order_items", DAY, quantity="abc", order_id=None)
    frame = read(ORDER_ITEMS, "a.jsonl", jsonl([bad]))
    assert frame.loc[0, "quantity"] == "abc"
    assert frame.loc[0, "order_id"] is None


def test_unexpected_fields_are_kept_in_extra():
    rows = [row("stores", DAY, promo_code="XMAS"), row("stores", DAY)]
    frame = read(STORES, "a.jsonl", jsonl(rows))
    assert frame.loc[0, "_extra"] == '{"promo_code": "XMAS"}'
    assert frame.loc[1, "_extra"] is None
    from_csv = read(STORES, "a.csv", csv_bytes(rows))
    assert from_csv.loc[0, "_extra"] == '{"promo_code": "XMAS"}'


@pytest.mark.parametrize(
    ("path", "data", "reason"),
    [
        ("a.jsonl", b'{"store_id": "S1"\n', "line 1"),
        ("a.jsonl", jsonl([row("stores", DAY)]) + b"garbage\n", "line 2"),
        ("a.jsonl", b"[1, 2]\n", "not a JSON object"),
        ("a.jsonl", jsonl([{"store_id": "S1"}]), "missing column(s) name, city"),
        ("a.jsonl", b"\xff\xfe\n", "not UTF-8"),
        ("a.csv", b"store_id\n\xff\n", "not UTF-8"),
        ("a.csv", b"store_id,name\nS1,a\n", "missing column(s) city"),
        ("a.csv", csv_bytes([row("stores", DAY)]) + b"S2,too,few\n", "cannot parse CSV"),
        ("a.csv", b"", "no header"),
        ("a.parquet", b"PAR1", "unknown file type"),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(path, data, reason):
    with pytest.raises(MalformedFile) as error:
        read_landing_file(STORES, path, data)
    assert reason in str(error.value)


def test_empty_jsonl_file_is_zero_rows_not_an_error():
    frame = read(ENTITIES["orders"], "a.jsonl", b"")
    assert len(frame) == 0
    assert list(frame.columns)[: len(ENTITIES["orders"].columns)] == ENTITIES["orders"].column_names
