"""Jobs and schedules named for what a user wants to do."""

from __future__ import annotations

import dagster as dg

from retail_platform.defs.dashboard.assets import DASHBOARD

CHURN_MODEL = dg.AssetKey(["ml", "churn_model"])
CUSTOMER_HEALTH = dg.AssetKey(["marts", "customer_health"])

everything = dg.AssetSelection.groups("raw", "silver", "gold", "ml", "marts")

daily_pipeline = dg.define_asset_job(
    name="daily_pipeline",
    selection=everything - dg.AssetSelection.assets(CHURN_MODEL),
    description=(
        "Load a transaction_date partition (or a range, as one run) through every layer and "
        "re-score churn with the current model. The landing sensor launches it for the "
        "partitions whose files are new. It does not retrain: that is churn_retrain."
    ),
)

full_backfill = dg.define_asset_job(
    name="full_backfill",
    selection=everything,
    description=(
        "Every layer for a range of days as one run, then retrain the churn model and score: "
        "what `make demo` runs. Launch it from the UI with a partition range."
    ),
)

churn_retrain = dg.define_asset_job(
    name="churn_retrain",
    selection=dg.AssetSelection.groups("ml") | dg.AssetSelection.assets(CUSTOMER_HEALTH, DASHBOARD),
    description=(
        "Rebuild churn features from gold, train and evaluate a new model version, score "
        "every customer with the newest version that met the AUC floor, refresh "
        "marts/customer_health and the dashboard. Weekly on a schedule; on demand from the UI."
    ),
)

churn_retrain_weekly = dg.ScheduleDefinition(
    name="churn_retrain_weekly",
    job=churn_retrain,
    cron_schedule="0 6 * * 1",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Retrain the churn model every Monday at 06:00 UTC.",
)
