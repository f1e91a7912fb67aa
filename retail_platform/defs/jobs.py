"""Jobs and schedules named for what a user wants to do."""

from __future__ import annotations

import dagster as dg

from retail_platform.defs.dashboard.assets import DASHBOARD
from retail_platform.defs.ml.assets import CHURN_FEATURES, CHURN_MODEL, CHURN_SCORES
from retail_platform.defs.ml.forecast import (
    FORECAST_VERSIONS,
    SALES_FORECAST,
    SALES_HISTORY,
    SALES_VS_FORECAST,
)
from retail_platform.defs.ml.recommendations import (
    PRODUCT_RECOMMENDATIONS,
    PURCHASE_FEEDBACK,
    RECOMMENDED_PRODUCTS,
)
from retail_platform.lib.recommend.evaluation import TOP_N

CUSTOMER_HEALTH = dg.AssetKey(["marts", "customer_health"])

everything = dg.AssetSelection.groups("raw", "silver", "gold", "ml", "marts")
churn = dg.AssetSelection.assets(CHURN_FEATURES, CHURN_MODEL, CHURN_SCORES)
forecast = dg.AssetSelection.assets(SALES_HISTORY, FORECAST_VERSIONS, SALES_FORECAST)
# What a day's files change: every layer but ml's. Churn features and scores
# cover every customer (recency moves for all of them each day), so their cost grows with
# the customer base; they refresh on their own daily schedule, off the file-to-marts path.
# The forecast is retrained weekly (forecast_retrain); marts/sales_vs_forecast, a view,
# shows each loaded day's actuals against it at once.
# Recommendations are retrained weekly too (recommendations_retrain); marts/recommended_products
# is a view over the published ones.
# The lifetime and monthly breakdowns (dbt tag once_a_day, sql/dbt_project.yml) read every
# sale, a new day moves them little, and each costs seconds at a year of history: they
# refresh once a day (customer_value_marts), off the file-to-marts path too.
once_a_day_marts = dg.AssetSelection.tag("once_a_day", "")
daily_assets = everything - dg.AssetSelection.groups("ml") - once_a_day_marts

daily_pipeline = dg.define_asset_job(
    name="daily_pipeline",
    selection=daily_assets,
    description=(
        "Load a transaction_date partition (or a range, as one run) through raw, silver, "
        "gold and the marts. The landing sensor launches it for the partitions whose files "
        "are new. marts/customer_health shows the latest churn scores (churn_scoring); the "
        "customer value and breakdown marts refresh once a day (customer_value_marts)."
    ),
)

full_backfill = dg.define_asset_job(
    name="full_backfill",
    selection=everything,
    description=(
        "Every layer for a range of days as one run, then retrain the churn model and score, "
        "make a new sales forecast and new product recommendations: what `make demo` runs. "
        "Launch it from the UI with a partition range."
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

customer_value_marts = dg.define_asset_job(
    name="customer_value_marts",
    selection=once_a_day_marts | dg.AssetSelection.assets(DASHBOARD),
    description=(
        "Rebuild the customer value marts (value tiers, repeat vs one-time buyers, top "
        "customers) and the breakdowns over every sale (cities, categories by month, "
        "discount depth), then the dashboard. Daily on a schedule; on demand from the UI."
    ),
)

customer_value_marts_daily = dg.ScheduleDefinition(
    name="customer_value_marts_daily",
    job=customer_value_marts,
    cron_schedule="15 6 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Rebuild the customer value and breakdown marts every day at 06:15 UTC.",
)

forecast_retrain = dg.define_asset_job(
    name="forecast_retrain",
    selection=forecast | dg.AssetSelection.assets(SALES_VS_FORECAST, DASHBOARD),
    description=(
        "Rebuild the daily net revenue history from the marts, backtest and make a new sales "
        "forecast version (28 days ahead), publish the newest that passed its gate, refresh "
        "marts/sales_vs_forecast and the dashboard. "
        "Weekly on a schedule; on demand from the UI."
    ),
)

# Weekly: a model of the weekly pattern gains only seven days a week, so a daily refit would
# move the forecast by noise; a week's forecast stays put for the week's planning while
# sales_vs_forecast shows each loaded day against it. Mondays at 06:30 UTC: after Sunday's
# files (due by 06:00, RETAIL_ORDERS_DEADLINE_HOUR_UTC) and after churn_retrain starts (the
# warehouse pool runs one step at a time, so the two queue rather than overlap).
forecast_retrain_weekly = dg.ScheduleDefinition(
    name="forecast_retrain_weekly",
    job=forecast_retrain,
    cron_schedule="30 6 * * 1",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Make a new sales forecast every Monday at 06:30 UTC (trained through Sunday).",
)

recommendations_retrain = dg.define_asset_job(
    name="recommendations_retrain",
    selection=dg.AssetSelection.assets(
        PURCHASE_FEEDBACK, PRODUCT_RECOMMENDATIONS, RECOMMENDED_PRODUCTS, DASHBOARD
    ),
    description=(
        "Rebuild the purchase feedback from gold, backtest a new recommendation model "
        f"against the popularity baseline and, when it beats it, publish the top {TOP_N} products "
        "per customer; refresh marts/recommended_products and the dashboard. "
        "Weekly on a schedule; on demand from the UI."
    ),
)

# Weekly, as the forecast: a week adds a quarter of a month's purchases, and what a customer
# bought since is left out at the next retrain. Mondays at 06:45 UTC, queued behind
# churn_retrain and forecast_retrain on the warehouse pool.
recommendations_retrain_weekly = dg.ScheduleDefinition(
    name="recommendations_retrain_weekly",
    job=recommendations_retrain,
    cron_schedule="45 6 * * 1",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Make new product recommendations every Monday at 06:45 UTC.",
)
