"""What README.md says of the asset graph holds for the definitions: the layers' counts in
its diagram, and its table of assets, partitioned assets and assets with checks per layer."""

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from retail_platform.lib.entities import ENTITIES

README = Path(__file__).resolve().parents[1] / "README.md"
MATERIALIZATION = "dagster-dbt/materialization_type"


@dataclass(frozen=True)
class Asset:
    layer: str
    name: str
    partitioned: bool
    checked: bool
    dbt: bool
    materialization: str | None


@pytest.fixture(scope="module")
def assets() -> list[Asset]:
    from retail_platform.definitions import defs

    graph = defs.resolve_asset_graph()
    checked = {check.asset_key for check in graph.asset_check_keys}
    found = []
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert len(key.path) == 2 and node.group_name == key.path[0], key  # layer/name
        found.append(
            Asset(
                layer=key.path[0],
                name=key.path[1],
                partitioned=node.partitions_def is not None,
                checked=key in checked,
                dbt="dbt" in node.kinds,
                materialization=node.metadata.get(MATERIALIZATION),
            )
        )
    return found


def readme_layers(assets: list[Asset]) -> dict[str, list[Asset]]:
    """The rows of the README's table, as the assets each stands for."""
    return {
        "raw/*": [a for a in assets if a.layer == "raw"],
        "silver/*": [a for a in assets if a.layer == "silver"],
        "gold/*": [a for a in assets if a.layer == "gold"],
        "marts/* (dbt)": [a for a in assets if a.layer == "marts" and a.dbt],
        "ml/*": [a for a in assets if a.layer == "ml"],
        "marts/dashboard": [a for a in assets if a.layer == "marts" and not a.dbt],
    }


TABLE_HEADER = "| layer | assets | partitioned by `transaction_date` | with checks |"


def table_rows() -> dict[str, list[str]]:
    """The README's layer table: {layer: [assets, partitioned, with checks]}."""
    lines = README.read_text().splitlines()
    assert TABLE_HEADER in lines, "README.md lost its table of layers"
    rows = {}
    for line in lines[lines.index(TABLE_HEADER) + 2 :]:
        if not line.startswith("|"):
            break
        label, *cells = (cell.strip() for cell in line.strip("|").split("|"))
        rows[label.replace("`", "")] = cells
    return rows


def count_and_names(cell: str) -> tuple[int, set[str], bool]:
    """'6: the facts, `dim_customers`' -> (6, {'dim_customers'}, False); with 'all but',
    the names are the ones left out (True)."""
    match = re.match(r"^(\d+)", cell)
    assert match, f"README table cell without a count: {cell!r}"
    names = set(re.findall(r"`([^`]+)`", cell))
    return int(match[1]), names, "all but" in cell


def test_readme_table_has_one_row_per_layer(assets):
    assert set(table_rows()) == set(readme_layers(assets))


@pytest.mark.parametrize("column", ["assets", "partitioned", "checked"])
def test_readme_table_counts_and_names_match_the_definitions(assets, column):
    rows = table_rows()
    for label, members in readme_layers(assets).items():
        cell = rows[label][["assets", "partitioned", "checked"].index(column)]
        count, names, all_but = count_and_names(cell)
        selected = {a.name for a in members if column == "assets" or getattr(a, column)}
        where = f"README table, {label}, {column}: {cell!r}"
        assert count == len(selected), f"{where}; the definitions have {sorted(selected)}"
        if all_but:
            assert names == {a.name for a in members} - selected, where
        elif names and count == len(names):
            assert names == selected, where
        else:
            assert names <= selected, where


def test_readme_table_kinds_match_the_definitions(assets):
    rows = table_rows()
    layers = readme_layers(assets)
    silver = {a.name for a in layers["silver/*"]}
    assert f"the {len(ENTITIES)} entities" in rows["silver/*"][0]
    assert set(ENTITIES) <= silver

    gold = [a.name for a in layers["gold/*"]]
    facts = sum(name.startswith("fact_") for name in gold)
    dimensions = sum(name.startswith("dim_") for name in gold)
    assert f"{facts} facts, {dimensions} dimensions" in rows["gold/*"][0]

    marts = layers["marts/* (dbt)"]
    views = {a.name for a in marts if a.materialization == "view"}
    tables = [a for a in marts if a.materialization in ("table", "incremental")]
    assert f"{len(tables)} tables, {len(views)} views" in rows["marts/* (dbt)"][0]
    assert set(re.findall(r"`([^`]+)`", rows["marts/* (dbt)"][0])) == views
    assert len(tables) + len(views) == len(marts)


def test_readme_diagram_counts_match_the_definitions(assets):
    text = README.read_text()
    layers = readme_layers(assets)
    for layer in ("raw", "silver", "gold"):
        match = re.search(rf'"{layer}/\* \((\d+)\)', text)
        assert match, f"the diagram has no {layer}/* (N) box"
        assert int(match[1]) == len(layers[f"{layer}/*"]), layer
    match = re.search(r'"marts/\* \((\d+)\)<br/>dbt: (\d+) tables \+ (\d+) views"', text)
    assert match, "the diagram has no marts/* (N)<br/>dbt: T tables + V views box"
    marts = layers["marts/* (dbt)"]
    views = sum(a.materialization == "view" for a in marts)
    assert (int(match[1]), int(match[2]), int(match[3])) == (len(marts), len(marts) - views, views)
