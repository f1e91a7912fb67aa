"""A warehouse that already holds an entity's tables follows a change of the contract: a
column added to contract.toml is added to the existing raw and silver tables by the next
run (null in the rows loaded before, the new days' values in the new rows, nothing else
changed); a column removed or retyped fails loudly, saying what differs and what to do
(docs/contract.md, "Changing the contract").

Real Dagster runs of raw and silver with real dbt on a real DuckDB file, in a copy of the
project whose contract the tests edit (test_contract.py's helpers), and the raw layer on
the BigQuery emulator through the real client.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
import textwrap
from datetime import date
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from retail_platform.lib.warehouse import ColumnsNotInContract, columns_to_add
from retail_platform_tests.helpers.local_platform import RUN_TIME_COLUMNS
from retail_platform_tests.test_contract import CODEGEN, copy_of_the_project, environment_of

DAYS = [date(2025, 1, 6), date(2025, 1, 7), date(2025, 1, 8), date(2025, 1, 9)]
ENTITIES = ("stores", "customers", "orders")
#: The columns the tests add: one to a dimension (merged), one to a fact (window replaced).
FLOOR_AREA = (
    '  { name = "opened_on", type = "date", description = "Day the store opened." },\n',
    '  { name = "floor_area", type = "int", description = "Sales floor in square metres." },\n',
)
DELIVERY_FEE = (
    '  { name = "ordered_at", type = "timestamp", description = '
    '"When the order was placed (UTC, ISO 8601)." },\n',
    '  { name = "delivery_fee", type = "decimal", description = "Fee charged for delivery." },\n',
)

# Runs in the copy of the project: `python run.py <root> <phase>` lands the phase's files,
# runs it and writes what the tests read besides the warehouse to <root>/<phase>.json.
RUN = textwrap.dedent(
    """
    import json
    import sys
    from pathlib import Path

    from retail_platform.defs.transforms.project import ensure_manifest

    ensure_manifest()  # the copy's dbt project, parsed as `make setup` does

    import dagster as dg

    from retail_platform.lib.landing_zone import landing_path
    from retail_platform_tests.helpers.handmade import jsonl, row
    from retail_platform_tests.helpers.local_platform import LocalPlatform
    from retail_platform_tests.test_contract_changes import DAYS, ENTITIES

    root, phase = Path(sys.argv[1]), sys.argv[2]
    platform = LocalPlatform(landing_root=root / "landing", database=root / "warehouse.duckdb")
    d1, d2, d3, d4 = DAYS


    def land(entity, day, *rows):
        path = landing_path(entity, day, f"{entity}-{phase}", "jsonl")
        platform.landing.write_bytes(path, jsonl(list(rows)))


    def order(day, order_id, customer_id, store_id, **values):
        return row("orders", day, order_id=order_id, customer_id=customer_id,
                   store_id=store_id, channel="online", status="completed", **values)


    def selection(*entities, raw=True):
        raw_keys = [dg.AssetKey(["raw", e]) for e in entities] if raw else []
        silver = [dg.AssetKey(["silver", e]) for e in entities]
        # silver alone: the gold relationships tests that read it would need gold
        silver_only = dg.AssetSelection.assets(*silver).without_checks()
        return dg.AssetSelection.assets(*raw_keys) | silver_only


    def run(day, chosen):
        result = platform.run(day, selection=chosen, raise_on_error=False)
        added = {}
        for event in result.get_asset_materialization_events():
            materialization = event.event_specific_data.materialization
            if "columns_added" in materialization.metadata:
                key = "/".join(materialization.asset_key.path)
                added[key] = materialization.metadata["columns_added"].value
        failures = [e.event_specific_data.error.to_string()
                    for e in result.get_step_failure_events()]
        return {"success": result.success, "columns_added": added, "failures": failures}


    report = {}
    if phase == "before":  # two days with the contract as it is, day by day
        land("stores", d1, row("stores", d1, store_id="S1"), row("stores", d1, store_id="S2"))
        land("customers", d1, *(row("customers", d1, customer_id=c, loyalty_tier="gold")
                                for c in ("C1", "C2")))
        land("orders", d1, order(d1, "O1", "C1", "S1"), order(d1, "O2", "C2", "S2"))
        land("stores", d2, row("stores", d2, store_id="S3"))
        land("orders", d2, order(d2, "O3", "C1", "S3"), order(d2, "O4", "C2", "S1"))
        report = {day.isoformat(): run(day, selection(*ENTITIES)) for day in (d1, d2)}
    elif phase == "grown":  # floor_area and delivery_fee are in the contract now
        land("stores", d3, row("stores", d3, store_id="S1", name="S1 after the refit",
                               floor_area="1250"),
             row("stores", d3, store_id="S4", floor_area=None))
        land("orders", d3, order(d3, "O5", "C1", "S4", delivery_fee="4.99"),
             order(d3, "O6", "C2", "S2", delivery_fee=None))
        report = run(d3, selection(*ENTITIES))
    elif phase == "removed":  # delivery_fee left the contract
        land("orders", d4, order(d4, "O7", "C1", "S1"))
        report = {"raw": run(d4, selection("orders")),
                  "silver": run(d4, selection("orders", raw=False))}
    elif phase == "retyped":  # delivery_fee is an int now
        land("orders", d4, order(d4, "O7", "C1", "S1", delivery_fee="3"))
        report = run(d4, selection("orders"))
    (root / f"{phase}.json").write_text(json.dumps(report))
    """
)


def test_a_load_adds_the_columns_a_table_lacks_and_refuses_one_it_should_not_hold():
    held = ["store_id", "name", "_partition_date"]
    assert columns_to_add("retail_raw.stores", held, ["store_id", "name", "_partition_date"]) == []
    assert columns_to_add(
        "retail_raw.stores", held, ["store_id", "name", "floor_area", "_partition_date", "city"]
    ) == ["floor_area", "city"]
    with pytest.raises(ColumnsNotInContract, match=r"retail_raw.stores holds column\(s\) name "):
        columns_to_add("retail_raw.stores", held, ["store_id", "_partition_date"])


def _set_contract(copy: Path, original: str, *edits: tuple[str, str]) -> None:
    """The copy's contract: the original with each (anchor, new line) added after the
    anchor, then the generated files regenerated (`make contract`)."""
    text = original
    for anchor, line in edits:
        assert text.count(anchor) == 1, anchor
        text = text.replace(anchor, anchor + line)
    (copy / "retail_platform" / "contract.toml").write_text(text)
    subprocess.run(CODEGEN, cwd=copy, env=environment_of(copy), check=True, capture_output=True)


def _run_phase(copy: Path, root: Path, phase: str) -> dict:
    script = root.parent / "run.py"
    script.write_text(RUN)
    run = subprocess.run(
        [sys.executable, str(script), str(root), phase],
        cwd=copy,
        env=environment_of(copy),
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-6000:]
    return json.loads((root / f"{phase}.json").read_text())


def _query(root: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def _columns(root: Path, schema: str, table: str) -> dict[str, str]:
    return dict(
        _query(
            root,
            "SELECT column_name, data_type FROM information_schema.columns "
            f"WHERE table_schema = '{schema}' AND table_name = '{table}' ORDER BY ordinal_position",
        )
    )


#: What the tests compare before and after the change, per table: its rows as of the
#: first two days, over the columns it had then (every column but the load time).
BEFORE_THE_CHANGE = {
    "retail_raw.stores": "_partition_date < '2025-01-08'",
    "retail_raw.customers": "_partition_date < '2025-01-08'",
    "retail_raw.orders": "_partition_date < '2025-01-08'",
    "retail_silver.stores": "store_id in ('S2', 'S3')",  # S1 has a new version on day 3
    "retail_silver.customers": "true",
    "retail_silver.orders": "transaction_date < '2025-01-08'",
}


def _rows_as_before(root: Path, columns: dict[str, list[str]]) -> dict[str, list[tuple]]:
    rows = {}
    for table, where in BEFORE_THE_CHANGE.items():
        listed = ", ".join(f'"{c}"' for c in columns[table])
        rows[table] = _query(root, f"SELECT {listed} FROM {table} WHERE {where} ORDER BY ALL")
    return rows


@dataclasses.dataclass
class Grown:
    copy: Path
    original: str
    root: Path
    before: dict[str, list[tuple]]
    before_counts: dict[str, int]
    columns_before: dict[str, list[str]]
    report: dict


@pytest.fixture(scope="module")
def grown(tmp_path_factory) -> Grown:
    """Two days run with the contract as it is, then floor_area (stores) and delivery_fee
    (orders) added to the contract, `make contract`, and a third day run with them."""
    base = tmp_path_factory.mktemp("contract-changes")
    copy = copy_of_the_project(base)
    original = (copy / "retail_platform" / "contract.toml").read_text()
    root = base / "grown"
    root.mkdir()
    before = _run_phase(copy, root, "before")
    assert all(day["success"] for day in before.values()), before
    assert not any(day["columns_added"] for day in before.values()), before
    columns = {
        table: [c for c in _columns(root, *table.split(".")) if c not in RUN_TIME_COLUMNS]
        for table in BEFORE_THE_CHANGE
    }
    rows = _rows_as_before(root, columns)
    counts = {table: _query(root, f"SELECT count(*) FROM {table}")[0][0] for table in columns}
    _set_contract(copy, original, FLOOR_AREA, DELIVERY_FEE)
    report = _run_phase(copy, root, "grown")
    return Grown(copy, original, root, rows, counts, columns, report)


def test_a_column_added_to_the_contract_grows_the_existing_raw_and_silver_tables(grown):
    assert grown.report["success"], grown.report["failures"]
    # said in the raw materializations' metadata (and a log line)
    assert grown.report["columns_added"] == {
        "raw/stores": ["floor_area"],
        "raw/orders": ["delivery_fee"],
    }
    root = grown.root
    assert "floor_area" not in grown.columns_before["retail_raw.stores"]
    assert _columns(root, "retail_raw", "stores")["floor_area"] == "VARCHAR"
    assert _columns(root, "retail_raw", "orders")["delivery_fee"] == "VARCHAR"
    assert _columns(root, "retail_silver", "stores")["floor_area"] in {"BIGINT", "INTEGER"}
    assert _columns(root, "retail_silver", "orders")["delivery_fee"] == "DECIMAL(18,2)"

    # raw: the landed text; null for the rows loaded before the column existed
    raw_stores = "SELECT store_id, floor_area, _extra FROM retail_raw.stores ORDER BY ALL"
    assert _query(root, raw_stores) == [
        ("S1", "1250", None), ("S1", None, None), ("S2", None, None), ("S3", None, None),
        ("S4", None, None),
    ]  # fmt: skip
    assert _query(root, "SELECT order_id, delivery_fee FROM retail_raw.orders ORDER BY 1") == [
        ("O1", None), ("O2", None), ("O3", None), ("O4", None), ("O5", "4.99"), ("O6", None),
    ]  # fmt: skip
    # silver: typed; the dimension's S1 is its newest version, of day 3
    silver_stores = "SELECT store_id, name, floor_area FROM retail_silver.stores ORDER BY 1"
    assert _query(root, silver_stores) == [
        ("S1", "S1 after the refit", 1250), ("S2", "x", None), ("S3", "x", None),
        ("S4", "x", None),
    ]  # fmt: skip
    assert _query(
        root, "SELECT order_id, transaction_date, delivery_fee FROM retail_silver.orders ORDER BY 1"
    ) == [
        ("O1", DAYS[0], None), ("O2", DAYS[0], None), ("O3", DAYS[1], None),
        ("O4", DAYS[1], None), ("O5", DAYS[2], Decimal("4.99")), ("O6", DAYS[2], None),
    ]  # fmt: skip

    # dbt says so in its log (sql/macros/schema_changes.sql), a JSON line per message
    messages = [
        json.loads(line).get("data", {}).get("msg", "")
        for log in root.rglob("dbt.log")
        for line in log.read_text().splitlines()
    ]
    for table, column in (("stores", "floor_area"), ("orders", "delivery_fee")):
        said = f'"retail_silver"."{table}": adding column(s) {column} (new in the contract'
        assert any(said in message for message in messages), said

    # nothing else changed: the rows of the first two days, over the columns they had
    assert _rows_as_before(root, grown.columns_before) == grown.before
    counts = {t: _query(root, f"SELECT count(*) FROM {t}")[0][0] for t in grown.before_counts}
    assert counts == {
        **grown.before_counts,
        "retail_raw.stores": grown.before_counts["retail_raw.stores"] + 2,
        "retail_raw.orders": grown.before_counts["retail_raw.orders"] + 2,
        "retail_silver.stores": grown.before_counts["retail_silver.stores"] + 1,  # S4
        "retail_silver.orders": grown.before_counts["retail_silver.orders"] + 2,
    }


def _changed_copy(grown: Grown, tmp_path: Path) -> Path:
    """A copy of the grown warehouse and landing zone under ``tmp_path``."""
    root = tmp_path / "changed"
    root.mkdir()
    shutil.copytree(grown.root / "landing", root / "landing")
    shutil.copyfile(grown.root / "warehouse.duckdb", root / "warehouse.duckdb")
    return root


def test_a_column_removed_from_the_contract_fails_raw_and_silver_with_what_to_do(grown, tmp_path):
    _set_contract(grown.copy, grown.original, FLOOR_AREA)  # delivery_fee no longer
    root = _changed_copy(grown, tmp_path)
    report = _run_phase(grown.copy, root, "removed")

    raw = report["raw"]
    assert not raw["success"]
    (raw_error,) = raw["failures"]  # raw/orders; silver/orders did not start
    assert "retail_raw.orders holds column(s) delivery_fee that the contract" in raw_error
    assert "nothing was written" in raw_error and '"Changing the contract"' in raw_error
    silver = report["silver"]
    assert not silver["success"]
    silver_error = "\n".join(silver["failures"])
    assert "delivery_fee are in the table but no longer in the model" in silver_error
    assert '"Changing the contract"' in silver_error

    # nothing was written: the day's file did not load, no column was dropped or emptied
    assert _query(root, "SELECT count(*) FROM retail_raw.orders WHERE order_id = 'O7'") == [(0,)]
    fees = "SELECT order_id, delivery_fee FROM retail_silver.orders WHERE delivery_fee IS NOT NULL"
    assert _query(root, fees) == [("O5", Decimal("4.99"))]
    assert "delivery_fee" in _columns(root, "retail_raw", "orders")


def test_a_column_retyped_in_the_contract_fails_silver_with_what_to_do(grown, tmp_path):
    retyped = (DELIVERY_FEE[0], DELIVERY_FEE[1].replace('"decimal"', '"int"'))
    _set_contract(grown.copy, grown.original, FLOOR_AREA, retyped)
    root = _changed_copy(grown, tmp_path)
    report = _run_phase(grown.copy, root, "retyped")

    assert not report["success"]
    assert report["columns_added"] == {}
    error = "\n".join(report["failures"])
    # raw keeps text, whatever the type: the day loaded; silver refuses to cast it anew
    assert _query(root, "SELECT delivery_fee FROM retail_raw.orders WHERE order_id = 'O7'") == [
        ("3",)
    ]
    assert "column type(s) changed: delivery_fee DECIMAL(18,2) -> " in error
    assert '"Changing the contract"' in error
    assert _query(root, "SELECT count(*) FROM retail_silver.orders WHERE order_id = 'O7'") == [(0,)]
    assert _columns(root, "retail_silver", "orders")["delivery_fee"] == "DECIMAL(18,2)"


# ---------------------------------------------------------------- BigQuery, on the emulator


def _failures(result: dg.ExecuteInProcessResult) -> list[str]:
    return [e.event_specific_data.error.to_string() for e in result.get_step_failure_events()]


def _metadata(result: dg.ExecuteInProcessResult) -> dict:
    (materialization,) = result.asset_materializations_for_node("raw__stores")
    return materialization.metadata


@pytest.mark.bigquery
def test_a_column_added_to_the_contract_grows_the_bigquery_raw_table(bigquery_env, tmp_path):
    """raw/stores on the BigQuery target (the emulator, the real client), built from the
    contract's stores and from the same entity with one column more: the column is added
    to the existing table, null in the rows loaded before; the entity without it again is
    refused before the IO manager deletes anything."""
    from google.cloud import bigquery

    from retail_platform.defs.raw.assets import build_raw_asset
    from retail_platform.defs.resources import resources_for
    from retail_platform.lib.entities import ENTITIES as CONTRACT
    from retail_platform.lib.landing_zone import LocalLandingZone, landing_path
    from retail_platform.lib.targets import Target
    from retail_platform_tests.helpers.handmade import jsonl, row

    target = Target("bigquery", "bigquery")
    stores = CONTRACT["stores"]
    grown_stores = dataclasses.replace(
        stores,
        columns=(*stores.columns, ("floor_area", "int")),
        descriptions={**stores.descriptions, "floor_area": "Sales floor in square metres."},
    )
    zone = LocalLandingZone(root=str(tmp_path / "landing"), settle_seconds=0)
    resources = {**resources_for(target), "landing_zone": zone}
    d1, d2, d3 = DAYS[:3]
    for day, store in ((d1, "S1"), (d2, "S2")):
        store_row = row("stores", day, store_id=store)
        zone.write_bytes(landing_path("stores", day, "a", "jsonl"), jsonl([store_row]))
    zone.write_bytes(
        landing_path("stores", d3, "a", "jsonl"),
        jsonl([{**row("stores", d3, store_id="S3"), "floor_area": "1250"}]),
    )

    def materialize(entity, first, last):
        return dg.materialize(
            [build_raw_asset(entity, target)],
            resources=resources,
            tags={
                "dagster/asset_partition_range_start": first.isoformat(),
                "dagster/asset_partition_range_end": last.isoformat(),
            },
            raise_on_error=False,
        )

    assert materialize(stores, d1, d2).success
    grown = materialize(grown_stores, d3, d3)
    assert grown.success, _failures(grown)
    assert _metadata(grown)["columns_added"].value == ["floor_area"]

    client = bigquery_env.client()
    table = f"{bigquery_env.project}.retail_raw.stores"
    rows = client.query(f"SELECT store_id, floor_area FROM `{table}` ORDER BY 1").result()
    assert [tuple(r.values()) for r in rows] == [("S1", None), ("S2", None), ("S3", "1250")]

    # The DDL that added the column does not reach the emulator's catalog, which BigQuery's
    # does (docs/contract.md, "Changing the contract"): put it there as BigQuery would.
    held = client.get_table(table)
    if "floor_area" not in [field.name for field in held.schema]:
        held.schema = [*held.schema, bigquery.SchemaField("floor_area", "STRING", "NULLABLE")]
        client.update_table(held, ["schema"])
    again = materialize(grown_stores, d3, d3)  # a re-run adds nothing, replaces day 3
    assert again.success and "columns_added" not in _metadata(again)
    rows = client.query(f"SELECT store_id, floor_area FROM `{table}` ORDER BY 1").result()
    assert [tuple(r.values()) for r in rows] == [("S1", None), ("S2", None), ("S3", "1250")]
    shrunk = materialize(stores, d3, d3)  # floor_area no longer in the contract
    assert not shrunk.success
    (failure,) = _failures(shrunk)
    assert "retail_raw.stores holds column(s) floor_area that the contract" in failure
    rows = client.query(f"SELECT store_id FROM `{table}` ORDER BY 1").result()
    assert [r[0] for r in rows] == ["S1", "S2", "S3"]  # day 3 was not deleted
