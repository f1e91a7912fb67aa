"""The files generated from the contract (``retail_platform/contract.toml``).

- ``sql/macros/contract.sql``: the contract as dbt macros (``contract_entities()``,
  ``fact_entities()``, ``dimension_entities()``). dbt reads no file of ours at parse time
  but its own, so the contract reaches it as a macro file, generated.
- ``sql/models/raw_sources.yml``: the raw layer's tables as the dbt source ``retail_raw``,
  one per entity, each with the asset key of its raw asset (``raw/<entity>``).
- ``docs/contract.md``: the blocks between ``<!-- BEGIN generated: <block> ... -->`` and
  ``<!-- END generated: <block> -->`` (the landing table, the columns by entity); the prose
  around them is written by hand.

``python -m retail_platform.lib.contract_codegen`` rewrites them; ``--check`` only says
which are stale (exit 1). retail_platform_tests/test_contract.py fails when one is.

Every name written into SQL here is checked by ``entities.load_contract`` to be a plain
identifier (``[a-z][a-z0-9_]*``), and every type one of a fixed set: the contract file is
ours, yet nothing from it reaches dbt unchecked.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping
from pathlib import Path

from retail_platform.lib.entities import CONTRACT_PATH, Entity, load_contract

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MACRO_FILE = Path("sql") / "macros" / "contract.sql"
SOURCES_FILE = Path("sql") / "models" / "raw_sources.yml"
DOCS_FILE = Path("docs") / "contract.md"
GENERATED_FILES = (MACRO_FILE, SOURCES_FILE, DOCS_FILE)
COMMAND = "python -m retail_platform.lib.contract_codegen"
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")


def _literal(name: str) -> str:
    """A name as a Jinja string literal; only identifiers are ever written."""
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"{name!r} is not an identifier")
    return f"'{name}'"


def _list(names) -> str:
    return "[" + ", ".join(_literal(n) for n in names) + "]"


def _pair(first: str, second: str) -> str:
    return f"({_literal(first)}, {_literal(second)})"


def render_macros(entities: Mapping[str, Entity]) -> str:
    """sql/macros/contract.sql for these entities."""
    facts = [name for name, entity in entities.items() if not entity.is_dimension]
    dimensions = [name for name, entity in entities.items() if entity.is_dimension]
    lines = [
        "{#- GENERATED from retail_platform/contract.toml by",
        f"    `{COMMAND}`: do not edit, edit the",
        "    contract and run that (a test fails when this file is stale).",
        "",
        "    The landing contract (docs/contract.md). Every column is required in a landing file",
        "    unless the entity lists it in 'optional' (a file may omit it; raw still has the",
        "    column, null). 'references': (entity, column) pairs a valid row's column must name a",
        "    key with a valid version of (validated_rows.sql known_key_checks, unknown_<column",
        "    without _id>). Column types are the contract's logical types (typed_column). -#}",
        "",
        "{#- The fact entities: partitioned by transaction_date in silver. -#}",
        "{%- macro fact_entities() -%}",
        f"  {{{{ return({_list(facts)}) }}}}",
        "{%- endmacro -%}",
        "",
        "{#- The dimension entities: merged across windows in silver (no partition of their",
        "    own). -#}",
        "{%- macro dimension_entities() -%}",
        f"  {{{{ return({_list(dimensions)}) }}}}",
        "{%- endmacro -%}",
        "",
        "{%- macro contract_entities() -%}",
        "  {{ return({",
    ]
    for name, entity in entities.items():
        references = ", ".join(_pair(*reference) for reference in entity.references)
        lines += [
            f"    {_literal(name)}: {{",
            f"      'kind': {_literal(entity.kind)},",
            f"      'key': {_list(entity.natural_key)},",
            f"      'optional': {_list(c for c in entity.column_names if c in entity.optional)},",
            f"      'references': [{references}],",
            "      'columns': [",
            *(f"        {_pair(column, kind)}," for column, kind in entity.columns),
            "      ]},",
        ]
    lines += ["  }) }}", "{%- endmacro -%}", ""]
    return "\n".join(lines)


def _landing_table(entities: Mapping[str, Entity]) -> str:
    """The contract's landing table and the line naming its dimensions."""
    rows = ["| entity | natural key | required columns |", "|---|---|---|"]
    for name, entity in entities.items():
        key = entity.natural_key
        key_text = key[0] if len(key) == 1 else f"({', '.join(key)})"
        columns = ", ".join(
            f"{column} ({entity.notes[column]})" if column in entity.notes else column
            for column in entity.required_column_names
        )
        rows.append(f"| {name} | {key_text} | {columns} |")
    dimensions = ", ".join(name for name, entity in entities.items() if entity.is_dimension)
    return "\n".join(
        [
            *rows,
            "",
            f"Dimension entities ({dimensions}) deliver a row in",
            "the folder of the date on which the record was created or changed.",
        ]
    )


def _entity_columns(entities: Mapping[str, Entity]) -> str:
    """Per entity: its kind, natural key and every column with its type and meaning."""
    parts = []
    for name, entity in entities.items():
        parts += [
            f"### {name}",
            "",
            f"{entity.kind.capitalize()}; natural key ({', '.join(entity.natural_key)}).",
            "",
            "| column | type | description |",
            "|---|---|---|",
            *(
                f"| {column} | {kind} | {entity.column_description(column).replace('|', '/')} |"
                for column, kind in entity.columns
            ),
            "",
        ]
    return "\n".join(parts).rstrip("\n")


DOCS_BLOCKS = {"landing-entities": _landing_table, "entity-columns": _entity_columns}


def render_sources(entities: Mapping[str, Entity]) -> str:
    """sql/models/raw_sources.yml: the raw tables dbt reads, one per entity."""
    lines = [
        "# GENERATED from retail_platform/contract.toml by",
        f"# `{COMMAND}`: do not edit, edit the contract",
        "# and run that (a test fails when this file is stale).",
        "version: 2",
        "",
        "sources:",
        "  - name: retail_raw",
        '    description: "Bronze: every landed file, values as text, one table per entity '
        '(Python assets)."',
        "    schema: retail_raw",
        "    tables:",
    ]
    for name in entities:
        _literal(name)  # an identifier, as everything written from the contract
        lines += [
            f"      - name: {name}",
            f'        meta: {{dagster: {{asset_key: ["raw", "{name}"]}}}}',
        ]
    return "\n".join(lines) + "\n"


def render_docs(markdown: str, entities: Mapping[str, Entity]) -> str:
    """docs/contract.md with every generated block rewritten from the entities."""
    for block, render in DOCS_BLOCKS.items():
        begin = rf"<!-- BEGIN generated: {block} [^\n]*-->\n"
        end = rf"<!-- END generated: {block} -->"
        pattern = re.compile(rf"({begin})(?:.*?\n)?({end})", re.S)
        if len(pattern.findall(markdown)) != 1:
            raise ValueError(f"{DOCS_FILE}: expected one generated block {block!r}")
        match = pattern.search(markdown)
        generated = match.group(1) + render(entities) + "\n" + match.group(2)
        markdown = markdown[: match.start()] + generated + markdown[match.end() :]
    return markdown


def generated_files(root: Path = PROJECT_ROOT, contract: Path = CONTRACT_PATH) -> dict[Path, str]:
    """Each generated file under ``root`` and the text it must have."""
    entities = load_contract(contract)
    return {
        root / MACRO_FILE: render_macros(entities),
        root / SOURCES_FILE: render_sources(entities),
        root / DOCS_FILE: render_docs((root / DOCS_FILE).read_text(), entities),
    }


def stale_files(root: Path = PROJECT_ROOT, contract: Path = CONTRACT_PATH) -> list[Path]:
    """The generated files under ``root`` that differ from what the contract makes."""
    return [
        path
        for path, text in generated_files(root, contract).items()
        if not path.exists() or path.read_text() != text
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only list stale files (exit 1)")
    parser.add_argument("--root", type=Path, default=PROJECT_ROOT, help="the project's folder")
    parser.add_argument("--contract", type=Path, default=CONTRACT_PATH, help="the contract")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files(args.root, args.contract)
        for path in stale:
            print(f"stale: {path} (run {COMMAND})", file=sys.stderr)
        return 1 if stale else 0
    for path, text in generated_files(args.root, args.contract).items():
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
