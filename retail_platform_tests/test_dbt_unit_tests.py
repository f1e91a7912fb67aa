"""The dbt unit tests (``unit_tests:`` in sql/models/**/*_unit_tests.yml): the reject
reasons of every entity and the contract's revenue rules, on hand-written rows. A real dbt
runs them on DuckDB here; the pipeline's own ``dbt build`` leaves them out."""

import json
from datetime import date
from pathlib import Path

import pytest
import yaml

from retail_platform.defs.transforms.project import DBT_PROJECT_DIR
from retail_platform.lib.entities import ENTITIES
from retail_platform_tests.helpers.local_platform import LocalPlatform, run_dbt

DAY = date(2025, 1, 1)
#: What the yml files hold: one reject-reason test per entity, one for line_amount in
#: silver, two for fact_sales and one for agg_daily_sales.
UNIT_TESTS_WRITTEN = 13
REVENUE_MODELS = {"fact_sales", "agg_daily_sales"}


def declared_unit_tests() -> dict[str, str]:
    """Unit test name -> tested model, read from the yml files (not from dbt)."""
    declared = {}
    for path in (DBT_PROJECT_DIR / "models").rglob("*.yml"):
        for test in yaml.safe_load(path.read_text()).get("unit_tests", []):
            assert test["name"] not in declared, test["name"]
            declared[test["name"]] = test["model"]
    return declared


def results(target: Path) -> list[dict]:
    return json.loads((target / "run_results.json").read_text())["results"]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> LocalPlatform:
    """Every table of every layer, empty: one run over a day on which nothing landed. A
    unit test's inputs are written as rows of named columns; dbt types them by the
    columns of the real tables, so those must exist."""
    root = tmp_path_factory.mktemp("unit_tests")
    platform = LocalPlatform(landing_root=root / "landing", database=root / "warehouse.duckdb")
    platform.landing_root.mkdir()
    assert platform.run(DAY).success
    return platform


def test_the_unit_tests_cover_every_entity_and_the_revenue_rules():
    declared = declared_unit_tests()
    assert len(declared) == UNIT_TESTS_WRITTEN, sorted(declared)
    tested = set(declared.values())
    assert {f"int_{name}__validated" for name in ENTITIES} | REVENUE_MODELS <= tested


def test_every_unit_test_passes(warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv("RETAIL_TARGET", "local")
    for name in ("RETAIL_WINDOW_MIN_DATE", "RETAIL_WINDOW_MAX_DATE", "RETAIL_WINDOW_EXTRA_DAYS"):
        monkeypatch.delenv(name, raising=False)  # the unit tests' rows are of 2025-01-01
    completed = run_dbt(
        ["test", "--select", "test_type:unit"],
        tmp_path,
        RETAIL_DUCKDB_PATH=str(warehouse.database),
    )
    ran = {
        result["unique_id"].split(".")[-1]: result["status"]
        for result in results(tmp_path / "target")
    }
    assert completed.returncode == 0, completed.stdout[-5000:]
    assert ran == dict.fromkeys(declared_unit_tests(), "pass")
    assert len(ran) == UNIT_TESTS_WRITTEN


def test_the_pipelines_dbt_build_runs_no_unit_test(warehouse):
    """The warehouse fixture's run built fact_sales and agg_daily_sales, whose unit tests
    dbt would select with them; it ran their data tests and none of their unit tests."""
    invocations = [
        results(folder)
        for folder in warehouse.dbt_target.glob("dbt_*")
        if (folder / "run_results.json").exists()
    ]
    assert len(invocations) == 2  # the partitioned models, then the others
    unique_ids = [result["unique_id"] for run in invocations for result in run]
    assert "model.retail_platform.fact_sales" in unique_ids
    assert "model.retail_platform.agg_daily_sales" in unique_ids
    assert any(unique_id.startswith("test.") for unique_id in unique_ids)
    assert [unique_id for unique_id in unique_ids if unique_id.startswith("unit_test.")] == []
