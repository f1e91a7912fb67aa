"""The sales forecast (group ``ml``, schema ``retail_ml``), built as the churn model is.

``ml/daily_net_revenue`` is a dbt model (sql/models/ml): net revenue per day and store,
and their total. ``ml/sales_forecast_versions`` makes a new forecast version with the
configured engine: a backtest (at six weekly origins, the last day - 28, - 35, ..., a
model trained up to the origin and scored on the 28 days after it against the
seasonal-naive forecast), then the 28 days after the last day; its
table keeps the newest versions, each marked with whether it passed the gate.
``ml/sales_forecast`` publishes the newest version that passed, and
``marts/sales_vs_forecast`` puts it beside the actuals, so a weak retrain never replaces a
good forecast.

The gate, check ``beats_seasonal_naive`` (lib/forecast/metrics.py), is blocking: when it
fails, the run fails before ``ml/sales_forecast`` and the mart, which keep the last
version that passed.
"""

from collections.abc import Iterator

import dagster as dg
import pandas as pd

from retail_platform.defs.ml.assets import ML_SCHEMA, OWNERS, model_version
from retail_platform.lib.forecast.backtest import (
    TABLE_COLUMNS,
    NotEnoughHistory,
    as_table,
    forecast_version,
    kept_versions,
    newest_passed,
)
from retail_platform.lib.forecast.engine import ForecastEngine, read_history
from retail_platform.lib.forecast.metrics import (
    BACKTEST_ORIGINS,
    HORIZON_DAYS,
    MIN_WEEKLY_STRENGTH,
)
from retail_platform.lib.targets import WAREHOUSE_POOL, Target
from retail_platform.lib.warehouse import Warehouse

SALES_HISTORY = dg.AssetKey(["ml", "daily_net_revenue"])
FORECAST_VERSIONS = dg.AssetKey(["ml", "sales_forecast_versions"])
SALES_FORECAST = dg.AssetKey(["ml", "sales_forecast"])
SALES_VS_FORECAST = dg.AssetKey(["marts", "sales_vs_forecast"])
VERSIONS_TABLE = f"{ML_SCHEMA}.sales_forecast_versions"
GATE_CHECK = "beats_seasonal_naive"


def stored_versions(warehouse: Warehouse, context: dg.AssetExecutionContext) -> pd.DataFrame:
    """The rows the versions table holds now; none before the first version. Any other
    failure to read them fails the step: starting anew would drop the versions kept."""
    rows = warehouse.rows_if_exists(VERSIONS_TABLE, TABLE_COLUMNS)
    if rows is None:
        context.log.info("no earlier forecast versions: the first one")
        return as_table(pd.DataFrame())
    return as_table(rows)


def _columns(*extra: dg.TableColumn) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn("store_id", "string", "store, or all_stores (their sum)"),
            dg.TableColumn("forecast_date", "date"),
            dg.TableColumn("forecast_kind", "string", "backtest or forecast"),
            dg.TableColumn("forecast", "float", "point forecast of net revenue"),
            dg.TableColumn("forecast_lower", "float", "prediction interval, lower bound"),
            dg.TableColumn("forecast_upper", "float", "prediction interval, upper bound"),
            dg.TableColumn("interval_level", "float", "0.8: an 80 % interval"),
            dg.TableColumn("model_version", "string"),
            dg.TableColumn("trained_through", "date", "the last day the row's model saw"),
            dg.TableColumn("passed_gate", "boolean", "the version passed its gate"),
            dg.TableColumn("engine", "string", "sklearn or bigquery ml"),
            *extra,
        ]
    )


def forecast_assets(target: Target) -> list[dg.AssetsDefinition]:
    engine_kind = target.ml_kind
    kinds = {"python", "pandas", engine_kind, target.warehouse_kind}

    @dg.asset(
        key=FORECAST_VERSIONS,
        deps=[SALES_HISTORY],
        group_name="ml",
        pool=WAREHOUSE_POOL,
        kinds=kinds,
        owners=OWNERS,
        metadata={"schema": ML_SCHEMA, "dagster/column_schema": _columns()},
        check_specs=[
            dg.AssetCheckSpec(
                name=GATE_CHECK,
                asset=FORECAST_VERSIONS,
                blocking=True,
                description=(
                    f"On the backtest (up to {BACKTEST_ORIGINS} weekly origins, the last day "
                    f"- {HORIZON_DAYS}, - {HORIZON_DAYS + 7}, ...: a model trained up to each, "
                    f"scored on the {HORIZON_DAYS} days after it), the forecast beats the "
                    "seasonal-naive forecast (the last observed week repeated): MASE < 1 over "
                    "every origin's days for the total and for the median store, and the "
                    "total's history has a weekly pattern (weekly strength >= "
                    f"{MIN_WEEKLY_STRENGTH}). Records MASE (and the newest origin's alone), "
                    "sMAPE and both MAEs. Blocking: a failed version is kept here for "
                    "inspection but never published. A history too short to backtest (under "
                    "56 days) makes no version and a warning: nothing to judge yet."
                ),
            )
        ],
        description=(
            f"Sales forecast versions: each materialization backtests a new model (at weekly "
            f"origins from the last day - {HORIZON_DAYS} back) and forecasts daily net revenue "
            f"per store and in total for the {HORIZON_DAYS} days after the last day with sales, "
            "with an 80 % prediction interval. Keeps the newest ten versions and the newest "
            "that passed the gate."
        ),
    )
    def sales_forecast_versions(
        context: dg.AssetExecutionContext, forecast_engine: ForecastEngine, warehouse: Warehouse
    ) -> Iterator[dg.Output | dg.AssetCheckResult]:
        history = read_history(warehouse)
        earlier = stored_versions(warehouse, context)
        version = model_version(context.run.run_id)
        try:
            made = forecast_version(forecast_engine, warehouse, history, version)
        except NotEnoughHistory as short:
            # Nothing to judge: the table as it was, and a warning (not a pass, and not a
            # failure that would block) that says why.
            context.log.warning(f"no new forecast version: {short}")
            yield dg.Output(
                earlier,
                metadata={
                    "dagster/row_count": len(earlier),
                    "model_version": "",
                    "not_evaluated": str(short),
                },
            )
            yield dg.AssetCheckResult(
                check_name=GATE_CHECK,
                passed=False,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"not_evaluated": str(short)},
            )
            return
        table = kept_versions(earlier, made.rows, forecast_engine.keep_versions)
        forecast_engine.prune(protected=set(table["model_version"]))
        metrics = made.backtest.metadata()
        context.log.info(f"sales forecast {version}: {metrics}")
        yield dg.Output(
            table,
            metadata={
                "dagster/row_count": len(table),
                "model_version": version,
                "engine": forecast_engine.kind,
                "trained_through": made.trained_through.isoformat(),
                "passed_gate": made.backtest.passed,
                "versions_kept": int(table["model_version"].nunique()),
                **metrics,
            },
        )
        yield dg.AssetCheckResult(
            check_name=GATE_CHECK,
            passed=made.backtest.passed,
            metadata={"model_version": version, **metrics},
        )

    @dg.asset(
        key=SALES_FORECAST,
        deps=[FORECAST_VERSIONS],
        group_name="ml",
        pool=WAREHOUSE_POOL,
        kinds={"python", "pandas", target.warehouse_kind},
        owners=OWNERS,
        metadata={"schema": ML_SCHEMA, "dagster/column_schema": _columns()},
        description=(
            "The published sales forecast: the rows (backtest and forecast days) of the newest "
            "version in ml/sales_forecast_versions that passed its gate. Empty until one has."
        ),
    )
    def sales_forecast(
        context: dg.AssetExecutionContext, warehouse: Warehouse
    ) -> dg.Output[pd.DataFrame]:
        published = newest_passed(stored_versions(warehouse, context))
        if published.empty:
            context.log.warning(
                "no sales forecast version has passed its gate yet, so sales_forecast is empty: "
                "run forecast_retrain once 56 days of sales are loaded"
            )
        version = str(published["model_version"].iloc[0]) if len(published) else ""
        return dg.Output(
            published, metadata={"dagster/row_count": len(published), "model_version": version}
        )

    return [sales_forecast_versions, sales_forecast]
