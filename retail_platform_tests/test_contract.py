"""The contract lives in one place, retail_platform/contract.toml: Python reads it, dbt's
sql/macros/contract.sql and docs/contract.md's entity tables are generated from it, and a
column added there alone goes from a landing file to silver."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from retail_platform.lib import contract_codegen
from retail_platform.lib.entities import (
    CONTRACT_PATH,
    DIMENSIONS,
    ENTITIES,
    FACT_ENTITIES,
    load_contract,
    reference_order,
)
from retail_platform.lib.targets import PROJECT_ROOT

CODEGEN = [sys.executable, "-m", "retail_platform.lib.contract_codegen"]


def test_the_generated_files_are_the_contracts():
    """sql/macros/contract.sql, sql/models/raw_sources.yml and docs/contract.md's generated
    blocks are what `python -m retail_platform.lib.contract_codegen` makes of contract.toml."""
    assert contract_codegen.stale_files() == [], (
        "stale generated files: run python -m retail_platform.lib.contract_codegen"
    )


def test_a_hand_edit_of_a_generated_file_is_stale(tmp_path):
    assert set(contract_codegen.generated_files(PROJECT_ROOT)) == {
        PROJECT_ROOT / relative for relative in contract_codegen.GENERATED_FILES
    }
    for relative in contract_codegen.GENERATED_FILES:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PROJECT_ROOT / relative, tmp_path / relative)
    assert contract_codegen.stale_files(tmp_path) == []
    docs = tmp_path / contract_codegen.DOCS_FILE
    docs.write_text(docs.read_text().replace("| orders | order_id |", "| orders | id |"))
    assert contract_codegen.stale_files(tmp_path) == [docs]
    sources = tmp_path / contract_codegen.SOURCES_FILE
    sources.write_text(sources.read_text().replace('["raw", "stores"]', '["raw", "shops"]'))
    assert contract_codegen.stale_files(tmp_path) == [sources, docs]


def test_kinds_and_reference_order_come_from_the_contract():
    assert FACT_ENTITIES == ("orders", "order_items", "payments", "shipments", "inventory")
    assert {"customers", "products", "stores", "employees"} == DIMENSIONS
    order = reference_order(ENTITIES)
    for name, entity in ENTITIES.items():
        for referenced, _ in entity.references:
            assert order.index(referenced) < order.index(name), (name, referenced)


@pytest.mark.parametrize(
    ("before", "after", "error"),
    [
        ('type = "date", description = "Day the store opened."',
         'type = "datetime", description = "Day the store opened."', "type 'datetime'"),
        ('{ name = "opened_on"', '{ name = "opened on"', "not a name"),
        ('natural_key = ["store_id"]', 'natural_key = ["store_no"]', "natural key"),
        ('kind = "fact"', 'kind = "event"', "kind 'event'"),
        ('{ name = "opened_on", type', '{ name = "opened_on", optinal = true, type', "unknown key"),
        ('{ entity = "stores", column = "store_id" }', '{ entity = "stores", column = "name" }',
         "references stores by 'name'"),
    ],
)  # fmt: skip
def test_a_contract_that_would_reach_sql_unchecked_is_refused(tmp_path, before, after, error):
    text = CONTRACT_PATH.read_text()
    assert before in text
    contract = tmp_path / "contract.toml"
    contract.write_text(text.replace(before, after, 1))
    with pytest.raises(ValueError, match=error):
        load_contract(contract)


def test_the_simulator_lands_a_column_it_does_not_generate_yet_as_nulls(monkeypatch):
    """A column just added to the contract does not break the simulator: its files carry
    the column, empty, until a generator fills it."""
    from retail_platform.lib.simulator import _arrow

    schema = _arrow.SCHEMAS["stores"].append(pa.field("floor_area", pa.int64()))
    monkeypatch.setitem(_arrow.SCHEMAS, "stores", schema)
    columns = {name: pa.array(["x", "y"]) for name in schema.names if name != "floor_area"}
    table = _arrow.table("stores", columns)
    assert table.schema == schema
    assert table.column("floor_area").null_count == 2


# ------------------------------------------ one edit: a new column from landing to silver

NEW_COLUMN_LINE = (
    '  { name = "floor_area", type = "int", description = "Sales floor in square metres." },\n'
)
RUN = textwrap.dedent(
    """
    import sys
    from datetime import date
    from pathlib import Path

    from retail_platform.defs.transforms.project import ensure_manifest

    ensure_manifest()  # the copy's dbt project, parsed as `make setup` does

    from retail_platform.lib.landing_zone import landing_path
    from retail_platform_tests.helpers.handmade import jsonl, row
    from retail_platform_tests.helpers.local_platform import LocalPlatform

    import dagster as dg

    root, day = Path(sys.argv[1]), date(2025, 1, 6)
    platform = LocalPlatform(landing_root=root / "landing", database=root / "warehouse.duckdb")
    stores = [row("stores", day, store_id="S1", floor_area="1250"),
              row("stores", day, store_id="S2", floor_area=None)]
    platform.landing.write_bytes(landing_path("stores", day, "main", "jsonl"), jsonl(stores))
    assert platform.run(day, selection=[dg.AssetKey(["raw", "stores"])]).success
    # silver/stores alone: the gold relationships tests that read it would need gold
    silver = dg.AssetSelection.assets(dg.AssetKey(["silver", "stores"])).without_checks()
    assert platform.run(day, selection=silver).success
    """
)


def copy_of_the_project(root: Path) -> Path:
    """The code, the dbt project and the contract's docs, without build output."""
    copy = root / "project"
    skip = shutil.ignore_patterns("__pycache__", "target", "logs", "*.duckdb*")
    shutil.copytree(PROJECT_ROOT / "retail_platform", copy / "retail_platform", ignore=skip)
    shutil.copytree(PROJECT_ROOT / "sql", copy / "sql", ignore=skip)
    (copy / "docs").mkdir()
    shutil.copy(PROJECT_ROOT / "docs" / "contract.md", copy / "docs" / "contract.md")
    return copy


def environment_of(copy: Path) -> dict[str, str]:
    """The environment of a process that runs the copy: its own code first on the path,
    the tests' helpers from this checkout, the local target."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(copy), str(PROJECT_ROOT)]),
        "RETAIL_TARGET": "local",
        "RETAIL_START_DATE": "2025-01-01",
    }
    env.pop("DBT_TARGET_PATH", None)
    return env


def test_a_column_added_to_the_contract_alone_reaches_silver(tmp_path):
    """In a copy of the project: one line added to contract.toml, the generated files
    regenerated, a stores file with the new column landed; raw keeps it as landed text
    (not in _extra), silver has it cast to the contract's type. A real Dagster run of
    raw/stores and silver/stores, with real dbt on DuckDB."""
    copy = copy_of_the_project(tmp_path)
    contract = copy / "retail_platform" / "contract.toml"
    anchor = '  { name = "opened_on", type = "date", description = "Day the store opened." },\n'
    assert contract.read_text().count(anchor) == 1
    contract.write_text(contract.read_text().replace(anchor, anchor + NEW_COLUMN_LINE))

    env = environment_of(copy)
    check = subprocess.run([*CODEGEN, "--check"], cwd=copy, env=env, capture_output=True, text=True)
    assert check.returncode == 1, check.stderr
    assert "contract.sql" in check.stderr and "contract.md" in check.stderr
    subprocess.run(CODEGEN, cwd=copy, env=env, check=True, capture_output=True)
    assert "('floor_area', 'int')" in (copy / contract_codegen.MACRO_FILE).read_text()
    assert "| floor_area | int |" in (copy / contract_codegen.DOCS_FILE).read_text()

    script = tmp_path / "run.py"
    script.write_text(RUN)
    run = subprocess.run(
        [sys.executable, str(script), str(tmp_path)],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-6000:]

    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as connection:
        raw = connection.execute(
            "SELECT store_id, floor_area, _extra FROM retail_raw.stores ORDER BY store_id"
        ).fetchall()
        silver = connection.execute(
            "SELECT store_id, floor_area FROM retail_silver.stores ORDER BY store_id"
        ).fetchall()
        (silver_type,) = connection.execute(
            "SELECT data_type FROM information_schema.columns "
            "WHERE table_schema = 'retail_silver' AND table_name = 'stores' "
            "AND column_name = 'floor_area'"
        ).fetchone()
    assert raw == [("S1", "1250", None), ("S2", None, None)]
    assert silver == [("S1", 1250), ("S2", None)]
    assert silver_type in {"BIGINT", "INTEGER"}
