"""Jobs and schedules named for what a user wants to do."""

from __future__ import annotations

import dagster as dg

from retail_platform.defs.dashboard.assets import DASHBOARD
from retail_platform.defs.ml.assets import CHURN_FEATURES, CHURN_SCORES

CUSTOMER_HEALTH = dg.AssetKey(["marts", "customer_health"])

everything = dg.AssetSelection.groups("raw", "silver", "gold", "ml", "marts")
churn = dg.AssetSelection.groups("ml")
# What a day's files change: every layer but churn's. Churn features and scores
# cover every customer (recency moves for all of them each day), so their cost grows with
# the customer base; they refresh on their own daily schedule, off the file-to-marts path.
daily_assets = everything - churn

daily_pipeline = dg.define_asset_job(
    name="daily_pipeline",
    selection=daily_assets,
    description=(
        "Load a transaction_date partition (or a range, as one run) through raw, silver, "
        "gold and the marts. The landing sensor launches it for the partitions whose files "
        "are new. marts/customer_health shows the latest churn scores (churn_scoring)."
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
    selection=churn | dg.AssetSelection.assets(CUSTOMER_HEALTH, DASHBOARD),
    description=(
        "Rebuild churn features from gold, train and evaluate a new model version, score "
        "every customer with the newest version that met the AUC floor, refresh "
        "marts/customer_health and the dashboard. Weekly on a schedule; on demand from the UI."
    ),
)

churn_scoring = dg.define_asset_job(
    name="churn_scoring",
    selection=dg.AssetSelection.assets(CHURN_FEATURES, CHURN_SCORES, CUSTOMER_HEALTH, DASHBOARD),
    description=(
        "Rebuild churn features from gold as of the latest day with sales and score every "
        "customer with the newest model that met the AUC floor; refresh "
        "marts/customer_health and the dashboard. Daily except Mondays (churn_retrain "
        "scores then); on demand from the UI."
    ),
)

churn_scoring_daily = dg.ScheduleDefinition(
    name="churn_scoring_daily",
    job=churn_scoring,
    cron_schedule="0 6 * * 0,2-6",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Score every customer at 06:00 UTC, Tuesday to Sunday (Monday: churn_retrain).",
)

churn_retrain_weekly = dg.ScheduleDefinition(
    name="churn_retrain_weekly",
    job=churn_retrain,
    cron_schedule="0 6 * * 1",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Retrain the churn model every Monday at 06:00 UTC.",
)
