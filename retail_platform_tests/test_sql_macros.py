"""Dialect macros evaluated by dbt on the embedded engine (the BigQuery side runs in
test_bigquery_pipeline.py, which compares every mart across the two targets)."""

import json
from decimal import Decimal
from pathlib import Path

from retail_platform_tests.helpers.local_platform import run_dbt


def dbt_show(sql: str, tmp_path: Path) -> list[dict]:
    completed = run_dbt(
        ["show", "--inline", sql, "--output", "json", "--log-format", "json"],
        tmp_path,
        RETAIL_TARGET="local",
        RETAIL_DUCKDB_PATH=str(tmp_path / "macros.duckdb"),
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    for line in completed.stdout.splitlines():
        data = json.loads(line).get("data", {})
        if "preview" in data:
            return json.loads(data["preview"])
    raise AssertionError(f"no preview in dbt's output: {completed.stdout[-2000:]}")


CASES = [  # (cents total, orders, contract's round half away from zero)
    ("1182.84", 8, "147.86"),  # 147.855: a DOUBLE division would give 147.85
    ("-1182.84", 8, "-147.86"),
    ("20.00", 3, "6.67"),
    ("0.05", 2, "0.03"),
    ("0.00", 5, "0.00"),
]


def test_money_per_rounds_half_away_from_zero_exactly(tmp_path):
    selects = [
        f"select {i} as case_no, "
        + "{{ money_per(\"cast('"
        + total
        + "' as decimal(18, 2))\", '"
        + str(orders)
        + "') }}"
        + " as value"
        for i, (total, orders, _) in enumerate(CASES)
    ]
    rows = dbt_show(" union all ".join(selects), tmp_path)
    got = {row["case_no"]: Decimal(str(row["value"])) for row in rows}
    assert got == {i: Decimal(expected) for i, (_, _, expected) in enumerate(CASES)}


def test_accepted_text_values_quotes_an_apostrophe_and_reports_the_rest(tmp_path):
    rows = dbt_show(
        "with segments as (select * from (values ('Champions'), ('Can''t Lose Them'), "
        "('Bogus'), ('Bogus'), (null)) as v(segment)) "
        "select * from ({{ test_accepted_text_values(model='segments', column_name='segment', "
        "values=['Champions', \"Can't Lose Them\"]) }}) failures",
        tmp_path,
    )
    assert rows == [{"value": "Bogus", "rows_with_value": 2}]
