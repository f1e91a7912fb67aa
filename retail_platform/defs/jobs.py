"""Jobs named for what a user wants to do."""

from __future__ import annotations

import dagster as dg

daily_pipeline = dg.define_asset_job(
    name="daily_pipeline",
    selection=dg.AssetSelection.groups("raw", "silver", "gold", "marts"),
    description=(
        "Load a transaction_date partition (or a range, as one run) through every layer. "
        "The landing sensor launches it for the partitions whose files are new."
    ),
)
