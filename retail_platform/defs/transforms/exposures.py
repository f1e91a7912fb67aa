"""dbt's exposures (sql/models/exposures.yml) as Dagster assets, so the UI's lineage ends
where the marts are read: the local dashboard and the BI tools' reports.

dagster-dbt makes assets of models, seeds and snapshots only. Each exposure becomes an
external asset (an ``AssetSpec``: Dagster shows it and its upstream marts but never
materializes it) keyed ``exposures/<name>``, its dependencies read from the manifest, so
the yml stays the one place that says which marts a reader uses. The manifest is the one
the ``@dbt_assets`` are built from (defs/transforms/assets.py reads manifest.json once),
and their translator names the models, so an exposure's upstream keys are the dbt
assets' keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg

from retail_platform.defs.transforms.project import DBT_PROJECT_DIR as PROJECT_DIR
from retail_platform.defs.transforms.translator import OWNERS, RetailDbtTranslator

GROUP = "exposures"


def exposure_specs(manifest: Mapping[str, Any]) -> list[dg.AssetSpec]:
    """One external asset per exposure of dbt's ``manifest`` (the one the dbt assets are
    built from), after the models it depends on."""
    translator = RetailDbtTranslator()
    nodes = manifest["nodes"]
    specs = []
    for exposure in manifest.get("exposures", {}).values():
        upstream = [
            translator.get_asset_key(nodes[unique_id])
            for unique_id in exposure["depends_on"]["nodes"]
            if unique_id in nodes
        ]
        specs.append(
            dg.AssetSpec(
                key=dg.AssetKey([GROUP, exposure["name"]]),
                deps=sorted(upstream, key=lambda key: key.to_user_string()),
                description=(exposure.get("description") or exposure["name"]).strip(),
                group_name=GROUP,
                owners=OWNERS,
                # dbt's exposure type, and the tools the yml's meta names (e.g. looker)
                kinds={"dbt", exposure.get("type") or "dashboard", *_meta_kinds(exposure)},
                metadata={
                    "label": exposure.get("label") or exposure["name"],
                    "maturity": exposure.get("maturity") or "",
                    "dbt_unique_id": exposure["unique_id"],
                    "dagster/code_references": dg.CodeReferencesMetadataValue(
                        code_references=[
                            dg.LocalFileCodeReference(
                                file_path=str(PROJECT_DIR / exposure["original_file_path"])
                            )
                        ]
                    ),
                },
            )
        )
    return specs


def _meta_kinds(exposure: dict) -> list[str]:
    return list(exposure.get("meta", {}).get("dagster", {}).get("kinds", []))
