"""The code location's one entry point: ``defs``.

``RETAIL_TARGET`` (local | bigquery) picks the resources; the graph is the same.
"""

from __future__ import annotations

import dagster as dg

from retail_platform.defs.alerts import alert_sensors
from retail_platform.defs.dashboard.assets import dashboard_assets
from retail_platform.defs.freshness import (
    orders_freshness_job,
    orders_freshness_schedule,
    orders_on_time,
)
from retail_platform.defs.jobs import (
    churn_retrain,
    churn_retrain_weekly,
    churn_scoring,
    churn_scoring_daily,
    customer_value_marts,
    customer_value_marts_daily,
    daily_assets,
    daily_pipeline,
    forecast_retrain,
    forecast_retrain_weekly,
    full_backfill,
    recommendations_retrain,
    recommendations_retrain_weekly,
)
from retail_platform.defs.landing.sensors import build_landing_sensor, downstream_by_entity
from retail_platform.defs.ml.assets import ml_assets
from retail_platform.defs.ml.forecast import forecast_assets
from retail_platform.defs.ml.recommendations import recommendation_assets
from retail_platform.defs.raw.assets import raw_assets
from retail_platform.defs.resources import resources_for
from retail_platform.defs.simulate.jobs import simulate_day_job
from retail_platform.defs.transforms.assets import MANIFEST, dbt_models, dbt_partitioned_models
from retail_platform.defs.transforms.checks import reconciliation_checks
from retail_platform.defs.transforms.exposures import exposure_specs
from retail_platform.lib.targets import Target, current_target


def build_definitions(target: Target) -> dg.Definitions:
    """Every asset, check, job, schedule and sensor, wired to ``target``'s resources."""
    python_assets = [
        *raw_assets(target),
        *ml_assets(target),
        *forecast_assets(target),
        *recommendation_assets(target),
        *dashboard_assets(target),
    ]
    assets = [*dg.with_source_code_references(python_assets), dbt_partitioned_models, dbt_models]
    # What a landed file's run rebuilds: the daily pipeline's assets downstream of its raw
    # asset (never ml: churn, the forecast and recommendations have jobs of their own).
    built_from_raw = downstream_by_entity(assets, daily_assets)
    return dg.Definitions(
        # dbt assets carry their code references already (the translator's settings);
        # dbt's exposures end the lineage where the marts are read (never materialized).
        assets=[*assets, *exposure_specs(MANIFEST)],
        # raw/orders' late-partition check (defs/freshness.py) runs after each load of it and
        # on its own schedule at the deadline hour.
        asset_checks=[*reconciliation_checks, orders_on_time],
        jobs=[
            daily_pipeline,
            full_backfill,
            churn_scoring,
            churn_retrain,
            customer_value_marts,
            forecast_retrain,
            recommendations_retrain,
            simulate_day_job,
            orders_freshness_job,
        ],
        schedules=[
            churn_scoring_daily,
            churn_retrain_weekly,
            customer_value_marts_daily,
            forecast_retrain_weekly,
            recommendations_retrain_weekly,
            orders_freshness_schedule(),
        ],
        # The alert sensors post to RETAIL_ALERT_WEBHOOK_URL; unset, they skip (defs/alerts.py).
        sensors=[build_landing_sensor(daily_pipeline, downstream=built_from_raw), *alert_sensors],
        resources=resources_for(target),
        # Every step is in the one-slot warehouse pool, so steps never overlap on either
        # target and a process per step (Dagster's default executor) would only add each
        # step's start-up, an import of the code location (docs/performance.md).
        executor=dg.in_process_executor,
    )


defs = build_definitions(current_target())
