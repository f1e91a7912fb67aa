"""The resources each target wires in: the one place that branches on the target's kind.

``local``: the DuckDB file and a landing folder; ``bigquery``: BigQuery and a GCS bucket.
Both get the same dbt resource (sql/profiles.yml picks dbt's target from RETAIL_TARGET).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg

from retail_platform.defs.transforms.resource import dbt_resource
from retail_platform.lib.gcp_credentials import credentials_env_var
from retail_platform.lib.targets import Target
from retail_platform.settings import (
    DUCKDB_PATH_ENV,
    GCP_PROJECT_ENV,
    LANDING_BUCKET_ENV,
    settings,
)


def bigquery_client_fields() -> dict[str, Any]:
    """Project, location and key of every BigQuery client the target makes (the
    warehouse, the IO manager, the BigQuery ML engines): from the environment."""
    return {
        "project": dg.EnvVar(GCP_PROJECT_ENV),
        "location": settings().gcp_location,
        "gcp_credentials": credentials_env_var(),
    }


def churn_engine_resource(target: Target) -> Any:
    """Where the churn model trains: BigQuery ML, or scikit-learn with a model folder."""
    from retail_platform.lib.churn.engine import BigQueryMLChurnEngine, SklearnChurnEngine

    if target.churn_engine == "bqml":
        return BigQueryMLChurnEngine(**bigquery_client_fields())
    return SklearnChurnEngine(model_dir=str(Path(settings().model_dir).resolve()))


def forecast_engine_resource(target: Target) -> Any:
    """Where the sales forecast is made: with the churn model (RETAIL_CHURN_ENGINE), in
    BigQuery ML, or with scikit-learn in the step."""
    from retail_platform.lib.forecast.engine import (
        BigQueryMLForecastEngine,
        SklearnForecastEngine,
    )

    if target.churn_engine == "bqml":
        return BigQueryMLForecastEngine(**bigquery_client_fields())
    return SklearnForecastEngine()


def recommendation_engine_resource(target: Target) -> Any:
    """Where product recommendations are made: with the churn model (RETAIL_CHURN_ENGINE),
    in BigQuery ML, or with scikit-learn in the step."""
    from retail_platform.lib.recommend.engine import (
        BigQueryMLRecommendationEngine,
        SklearnRecommendationEngine,
    )

    if target.churn_engine == "bqml":
        return BigQueryMLRecommendationEngine(**bigquery_client_fields())
    return SklearnRecommendationEngine()


def resources_for(target: Target) -> dict[str, Any]:
    """Every resource the definitions use, for ``target``."""
    from retail_platform.lib.landing_zone import landing_zone_from_uri
    from retail_platform.lib.warehouse import BigQueryWarehouse, DuckDBWarehouse

    current = settings()
    if target.name == "local":
        from retail_platform.lib.io_managers import DuckDBWarehouseIOManager

        database = str(Path(current.duckdb_path).resolve())
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        memory_limit = current.duckdb_memory_limit
        return {
            "io_manager": DuckDBWarehouseIOManager(
                database=database, connection_config={"memory_limit": memory_limit}
            ),
            "landing_zone": landing_zone_from_uri(current.landing),
            # dbt's profile reads the same file (sql/profiles.yml, target local).
            "dbt": dbt_resource(dbt_env={DUCKDB_PATH_ENV: database}),
            "warehouse": DuckDBWarehouse(database=database, memory_limit=memory_limit),
            "churn_engine": churn_engine_resource(target),
            "forecast_engine": forecast_engine_resource(target),
            "recommendation_engine": recommendation_engine_resource(target),
        }
    from retail_platform.lib.io_managers import BigQueryWarehouseIOManager
    from retail_platform.lib.landing_zone import GCSLandingZone

    return {
        "io_manager": BigQueryWarehouseIOManager(**bigquery_client_fields()),
        "landing_zone": GCSLandingZone(
            bucket=dg.EnvVar(LANDING_BUCKET_ENV),
            prefix=current.landing_prefix,
            project=dg.EnvVar(GCP_PROJECT_ENV),
            gcp_credentials=credentials_env_var(),
        ),
        "dbt": dbt_resource(),
        "warehouse": BigQueryWarehouse(**bigquery_client_fields()),
        "churn_engine": churn_engine_resource(target),
        "forecast_engine": forecast_engine_resource(target),
        "recommendation_engine": recommendation_engine_resource(target),
    }
