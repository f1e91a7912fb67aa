"""One forecast version: the backtest that judges it, then the forecast itself.

Both come from the same engine and the same history table: the backtest's models are
trained on the history up to each weekly origin (the last day - 28, - 35, ...:
metrics.backtest_origins) and forecast the 28 days after it (known, so scored against
the seasonal-naive forecast: metrics.py); the forecast's model is trained on the whole
history and forecasts the 28 days after it. The version's table keeps the newest origin's
backtest (the 28 days before the last day, beside their actuals in the mart).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from retail_platform.lib.bqml_models import BACKTEST_SUFFIX
from retail_platform.lib.forecast.engine import MODEL_NAME, ForecastEngine
from retail_platform.lib.forecast.metrics import (
    HORIZON_DAYS,
    MIN_HISTORY_DAYS,
    Backtest,
    backtest_origins,
    backtest_scores,
)
from retail_platform.lib.warehouse import Warehouse

#: The columns of retail_ml.sales_forecast, one row per version, series, day.
TABLE_COLUMNS = (
    "store_id",
    "forecast_date",
    "forecast_kind",
    "forecast",
    "forecast_lower",
    "forecast_upper",
    "interval_level",
    "model_version",
    "trained_through",
    "passed_gate",
    "engine",
)


class NotEnoughHistory(ValueError):
    """Fewer days than the backtest needs: no version is made."""


@dataclass(frozen=True)
class ForecastVersion:
    version: str
    trained_through: date
    backtest: Backtest
    rows: pd.DataFrame  # TABLE_COLUMNS


def history_days(history: pd.DataFrame) -> int:
    days = history["transaction_date"]
    return 0 if days.empty else (days.max() - days.min()).days + 1


def forecast_version(
    engine: ForecastEngine,
    warehouse: Warehouse,
    history: pd.DataFrame,
    version: str,
    horizon: int = HORIZON_DAYS,
) -> ForecastVersion:
    """Backtest, then forecast, with ``engine``; ``history`` as metrics.backtest_scores
    takes it (every day of every series, the total included)."""
    if history_days(history) < MIN_HISTORY_DAYS:
        raise NotEnoughHistory(
            f"the forecast's backtest needs {MIN_HISTORY_DAYS} days of sales (four weeks "
            f"to train on, then {horizon} to score), found {history_days(history)}"
        )
    last = history["transaction_date"].max()
    origins = backtest_origins(history["transaction_date"].min(), last, horizon)
    backtest_rows = engine.backtest(
        warehouse, history, origins, horizon, f"{MODEL_NAME}_{version}{BACKTEST_SUFFIX}"
    )
    backtest = backtest_scores(history, backtest_rows, origins, horizon)
    origin = backtest.origin
    future_rows = engine.forecast(
        warehouse, history, last, horizon, f"{MODEL_NAME}_{version}", keep_model=True
    )
    rows = pd.concat(
        [
            backtest_rows[backtest_rows["trained_through"] == origin].assign(
                forecast_kind="backtest"
            ),
            future_rows.assign(forecast_kind="forecast", trained_through=last),
        ],
        ignore_index=True,
    ).assign(
        interval_level=float(engine.interval_level),
        model_version=version,
        passed_gate=backtest.passed,
        engine=engine.kind,
    )
    for column in ("forecast", "forecast_lower", "forecast_upper"):
        rows[column] = rows[column].astype(float)
    return ForecastVersion(
        version=version,
        trained_through=last,
        backtest=backtest,
        rows=rows.loc[:, list(TABLE_COLUMNS)],
    )


def as_table(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` in the table's columns and types (days as timestamps at midnight: both IO
    managers store them as such; the mart reads them as dates), empty or not."""
    table = (
        rows.loc[:, list(TABLE_COLUMNS)].copy()
        if len(rows)
        else pd.DataFrame({column: [] for column in TABLE_COLUMNS})
    )
    for column in ("store_id", "forecast_kind", "model_version", "engine"):
        table[column] = table[column].astype(str) if len(table) else table[column].astype("string")
    for column in ("forecast_date", "trained_through"):
        table[column] = pd.to_datetime(table[column])
    for column in ("forecast", "forecast_lower", "forecast_upper", "interval_level"):
        table[column] = table[column].astype(float)
    table["passed_gate"] = table["passed_gate"].astype(bool)
    return table.reset_index(drop=True)


def kept_versions(earlier: pd.DataFrame, new: pd.DataFrame, keep: int) -> pd.DataFrame:
    """The table after a new version: the newest ``keep`` versions, and the newest version
    that passed its gate even when it is older (the mart shows it until one passes)."""
    table = pd.concat([as_table(new), as_table(earlier)], ignore_index=True)
    versions = sorted(table["model_version"].unique(), reverse=True)
    passed = sorted(table.loc[table["passed_gate"].astype(bool), "model_version"].unique())
    keep_set = set(versions[:keep]) | ({passed[-1]} if passed else set())
    return as_table(table[table["model_version"].isin(keep_set)])


def newest_passed(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of the newest version that passed its gate (none when no version has)."""
    table = as_table(table)
    passed = table.loc[table["passed_gate"], "model_version"]
    if passed.empty:
        return as_table(pd.DataFrame())
    return as_table(table[table["model_version"] == passed.max()])
