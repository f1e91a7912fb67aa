"""How dbt resources appear in Dagster: keys ``[layer, model]``, groups per layer.

Kinds (``dbt`` plus the adapter, ``duckdb`` or ``bigquery``) come from dagster-dbt itself.
"""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

from retail_platform.defs.freshness import FRESHNESS_BY_LAYER

LAYERS = ("silver", "gold", "ml", "marts")
OWNERS = ["team:data-platform"]


def layer_of(dbt_resource_props: Mapping[str, Any]) -> str:
    """The folder under models/ a model lives in (silver, gold, ml, marts)."""
    fqn = dbt_resource_props.get("fqn", [])
    for part in fqn[1:]:
        if part in LAYERS:
            return part
    raise ValueError(f"dbt model {dbt_resource_props.get('unique_id')} is not under a layer folder")


class RetailDbtTranslator(DagsterDbtTranslator):
    def __init__(self) -> None:
        super().__init__(
            settings=DagsterDbtTranslatorSettings(
                enable_asset_checks=True,
                enable_code_references=True,
                enable_source_tests_as_checks=False,
            )
        )

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)  # meta.dagster.asset_key
        return dg.AssetKey([layer_of(dbt_resource_props), dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return "raw"
        return layer_of(dbt_resource_props)

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        return OWNERS

    def get_description(self, dbt_resource_props: Mapping[str, Any]) -> str:
        """The model's description from its yml. dagster-dbt's default appends the model's
        raw SQL, which buries the description under Jinja in the UI; the code is one click
        away (the asset's code reference)."""
        description = (dbt_resource_props.get("description") or "").strip()
        if description:
            return description
        return f"dbt {dbt_resource_props['resource_type']} {dbt_resource_props['name']}"

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        policy = FRESHNESS_BY_LAYER.get(spec.group_name or "")
        return spec.replace_attributes(freshness_policy=policy) if policy else spec
