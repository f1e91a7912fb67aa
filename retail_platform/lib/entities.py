"""The landing contract in code: every entity's columns, types, natural key and kind.

Read from ``retail_platform/contract.toml``, the one place the contract's entities are
written: ``sql/macros/contract.sql`` (what dbt reads) and the entity tables of
``docs/contract.md`` are generated from the same file (``lib/contract_codegen.py``).

Why a TOML file of our own rather than the dbt sources yml (``data_type``,
``meta.natural_key``, ``meta.kind``), the fewest moving parts:

- dbt needs a generated macro either way: the contract decides which ``ref()``s a model
  makes (its references), which dbt records at parse time, when ``graph`` (where a source's
  columns would be) is still empty;
- Python reads it with ``tomllib`` (standard library) instead of digging it out of dbt's
  schema, nested under sources beside dbt's own keys, with a YAML parser that is not one
  of our dependencies;
- it holds the contract and nothing else, in the logical types each layer maps to its own
  (``decimal``, ``rate``), which a warehouse ``data_type`` cannot say for two warehouses.

The raw layer keeps every value as the text that landed (so CSV and JSONL land
identically); the types are what the silver layer casts to and validates against.

A column is required unless it is marked ``optional``: a file must have every required
column (else it is quarantined) and may omit an optional one, which then lands as null (raw
tables always have every column). Required is about the file's columns, not the values: a
required column's value may still be null where the contract allows it
(``shipments.delivered_at``), and silver decides which nulls a row may have.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

LogicalType = Literal["string", "int", "decimal", "rate", "date", "timestamp", "bool"]
Kind = Literal["fact", "dimension"]
#: The file the contract is read from.
CONTRACT_PATH = Path(__file__).resolve().parents[1] / "contract.toml"
# Names become SQL identifiers and Jinja literals: nothing but these characters.
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_ENTITY_KEYS = {"kind", "natural_key", "references", "columns"}
_COLUMN_KEYS = {"name", "type", "optional", "note", "description"}


@dataclass(frozen=True)
class Entity:
    """One source entity delivered to the landing zone."""

    name: str
    natural_key: tuple[str, ...]
    columns: tuple[tuple[str, LogicalType], ...]
    #: Columns a file may omit (not in the contract's required columns); the rest are required.
    optional: frozenset[str] = frozenset()
    #: (entity, column): a row is valid only if that entity has a valid version (any
    #: partition) with the row's value of the column as its key, else it is rejected as
    #: unknown_<column without _id> (sql/macros/validated_rows.sql known_key_checks).
    references: tuple[tuple[str, str], ...] = ()
    #: "fact" (silver partitions it by transaction_date) or "dimension" (merged across windows).
    kind: Kind = "fact"
    #: What each column holds (docs/contract.md): the raw asset's column descriptions.
    descriptions: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)
    #: The short remark on a column in docs/contract.md's landing table (`in_store`, ...).
    notes: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        unknown = self.optional - set(self.column_names)
        if unknown:
            raise ValueError(f"{self.name}: optional column(s) {sorted(unknown)} not in columns")
        if set(self.descriptions) != set(self.column_names):
            raise ValueError(f"{self.name}: every column needs one description")
        if self.kind not in get_args(Kind):
            raise ValueError(f"{self.name}: kind {self.kind!r} is not one of {get_args(Kind)}")

    @property
    def column_names(self) -> list[str]:
        """Every column, in contract order: the raw table's columns (before lineage)."""
        return [name for name, _ in self.columns]

    @property
    def required_column_names(self) -> list[str]:
        """The columns every landing file of the entity must have."""
        return [name for name in self.column_names if name not in self.optional]

    @property
    def is_dimension(self) -> bool:
        return self.kind == "dimension"

    def column_description(self, name: str) -> str:
        """What the column holds, then what the contract's other facts make of it: its
        part in the natural key, the entity it must name, whether a file may omit it."""
        parts = [self.descriptions[name]]
        if self.natural_key == (name,):
            parts.append("The natural key.")
        elif name in self.natural_key:
            parts.append(f"Part of the natural key ({', '.join(self.natural_key)}).")
        for referenced, column in self.references:
            if column == name:
                parts.append(
                    f"Must name one of the {referenced} with a valid version, "
                    f"else the row is rejected ({unknown_reason(column)})."
                )
        if name in self.optional:
            parts.append("Optional: a file may leave the column out (then null).")
        return " ".join(parts)


def unknown_reason(column: str) -> str:
    """The reject reason of a row whose ``column`` names a key that never landed."""
    return f"unknown_{column.removesuffix('_id')}"


def _names(where: str, values: object) -> tuple[str, ...]:
    if not isinstance(values, list) or not values:
        raise ValueError(f"{where}: expected a non-empty list of names, got {values!r}")
    for value in values:
        if not isinstance(value, str) or not _NAME.fullmatch(value):
            raise ValueError(f"{where}: {value!r} is not a name ([a-z][a-z0-9_]*)")
    return tuple(values)


def _column(where: str, spec: object) -> tuple[str, LogicalType, bool, str, str | None]:
    if not isinstance(spec, dict) or not {"name", "type", "description"} <= set(spec):
        raise ValueError(f"{where}: a column needs name, type and description, got {spec!r}")
    if set(spec) - _COLUMN_KEYS:
        raise ValueError(f"{where}: unknown key(s) {sorted(set(spec) - _COLUMN_KEYS)}")
    (name,) = _names(where, [spec["name"]])
    if spec["type"] not in get_args(LogicalType):
        raise ValueError(f"{where}.{name}: type {spec['type']!r} not in {get_args(LogicalType)}")
    if not isinstance(spec.get("optional", False), bool):
        raise ValueError(f"{where}.{name}: optional must be true or false")
    return name, spec["type"], spec.get("optional", False), spec["description"], spec.get("note")


def load_contract(path: Path = CONTRACT_PATH) -> dict[str, Entity]:
    """Every entity of the contract file at ``path``, in the file's order, checked: names
    are plain identifiers, types and kinds known, keys and references name real columns."""
    with path.open("rb") as file:
        document = tomllib.load(file)
    common = [_column("common", c) for c in document.get("common", {}).get("columns", [])]
    entities: dict[str, Entity] = {}
    for name, spec in document["entities"].items():
        _names("entities", [name])
        if set(spec) - _ENTITY_KEYS:
            raise ValueError(f"{name}: unknown key(s) {sorted(set(spec) - _ENTITY_KEYS)}")
        columns = [_column(name, c) for c in spec["columns"]] + common
        names = [c[0] for c in columns]
        if len(set(names)) != len(names):
            raise ValueError(f"{name}: a column is listed twice")
        key = _names(f"{name}.natural_key", spec["natural_key"])
        if set(key) - set(names):
            raise ValueError(f"{name}: natural key column(s) {sorted(set(key) - set(names))}")
        references = []
        for reference in spec.get("references", []):
            referenced, column = reference["entity"], reference["column"]
            if column not in names:
                raise ValueError(f"{name}: references {referenced} by {column!r}, not a column")
            references.append((referenced, column))
        entities[name] = Entity(
            name=name,
            natural_key=key,
            columns=tuple((column, kind) for column, kind, *_ in columns),
            optional=frozenset(column for column, _, optional, *_ in columns if optional),
            references=tuple(references),
            kind=spec.get("kind"),
            descriptions={column: text for column, _, _, text, _ in columns},
            notes={column: note for column, _, _, _, note in columns if note},
        )
    for entity in entities.values():
        for referenced, column in entity.references:
            if referenced not in entities or entities[referenced].natural_key != (column,):
                raise ValueError(
                    f"{entity.name}: references {referenced} by {column}, which is not the "
                    "natural key of an entity"
                )
    return entities


def reference_order(entities: Mapping[str, Entity]) -> list[str]:
    """The entities with each after every entity it references, dimensions first, then in
    contract order: the order a load that looks keys up in what it already loaded follows."""
    ordered: list[str] = []
    while len(ordered) < len(entities):
        ready = [
            name
            for name, entity in entities.items()
            if name not in ordered and all(r in ordered for r, _ in entity.references)
        ]
        if not ready:
            raise ValueError(
                f"references form a cycle among {sorted(set(entities) - set(ordered))}"
            )
        ordered.append(min(ready, key=lambda name: not entities[name].is_dimension))
    return ordered


ENTITIES: dict[str, Entity] = load_contract()
#: The fact entities, in contract order: partitioned by transaction_date in silver.
FACT_ENTITIES: tuple[str, ...] = tuple(n for n, e in ENTITIES.items() if not e.is_dimension)
#: The dimension entities: merged across windows in silver (no partition of their own).
DIMENSIONS = frozenset(n for n, e in ENTITIES.items() if e.is_dimension)

# Columns the raw layer adds to what landed, and what they hold.
PARTITION_COLUMN = "_partition_date"
LINEAGE_DESCRIPTIONS: dict[str, str] = {
    "_extra": "The row's fields the contract does not list, as a JSON object (null if none).",
    "_source_file": "Landing path of the file the row came from.",
    "_source_line": "Line of the row in that file, from 1 (a CSV header is line 1).",
    "_ingested_at": "When the raw layer loaded the file (UTC).",
    PARTITION_COLUMN: "Midnight of the landing folder's date, zone-less: the partition, even "
    "when the row's own transaction_date disagrees.",
}


def entity(name: str) -> Entity:
    try:
        return ENTITIES[name]
    except KeyError:
        raise ValueError(f"unknown entity {name!r}; expected one of {sorted(ENTITIES)}") from None
