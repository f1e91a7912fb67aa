"""BigQuery ML statements for the sales forecast: ARIMA_PLUS per series, ML.FORECAST.

One ARIMA_PLUS model holds a series per ``store_id`` (the stores and the total) of
``retail_ml.daily_net_revenue``; BigQuery picks each series' ARIMA order, weekly
seasonality and holiday effects (``holiday_region``: the public calendar of that region,
the analogue of the local engine's calendar features). Names come from configuration,
validated and back-quoted; the training cutoff is a date, written as a DATE literal.
"""

from __future__ import annotations

import re
from datetime import date

from retail_platform.lib.churn.bqml import quoted

_REGION = re.compile(r"^[A-Z]{2,6}$")

HISTORY_COLUMNS = ("transaction_date", "store_id", "net_revenue")


def create_model_sql(
    model: str, history_table: str, through: date, horizon: int, holiday_region: str
) -> str:
    """Train on the history up to and including ``through``."""
    if not isinstance(through, date):
        raise TypeError(f"through must be a date, got {through!r}")
    if not _REGION.match(holiday_region):
        raise ValueError(f"not a BigQuery ML holiday region: {holiday_region!r}")
    return (
        f"CREATE OR REPLACE MODEL {quoted(model)} "
        "OPTIONS (model_type = 'ARIMA_PLUS', "
        "time_series_timestamp_col = 'transaction_date', "
        "time_series_data_col = 'net_revenue', "
        "time_series_id_col = 'store_id', "
        "data_frequency = 'DAILY', "
        f"holiday_region = '{holiday_region}', "
        f"horizon = {int(horizon)}, "
        "auto_arima = TRUE) "
        f"AS SELECT transaction_date, store_id, CAST(net_revenue AS FLOAT64) AS net_revenue "
        f"FROM {quoted(history_table)} "
        f"WHERE transaction_date <= DATE '{through.isoformat()}'"
    )


def forecast_sql(model: str, horizon: int, level: float) -> str:
    """The ``horizon`` days after the training data, with a ``level`` prediction interval,
    in the columns the local engine returns."""
    if not 0 < level < 1:
        raise ValueError(f"the interval level must be between 0 and 1, got {level!r}")
    return (
        "SELECT store_id, CAST(forecast_timestamp AS DATE) AS forecast_date, "
        "forecast_value AS forecast, "
        "prediction_interval_lower_bound AS forecast_lower, "
        "prediction_interval_upper_bound AS forecast_upper "
        f"FROM ML.FORECAST(MODEL {quoted(model)}, "
        f"STRUCT({int(horizon)} AS horizon, {float(level)} AS confidence_level))"
    )


def drop_model_sql(model: str) -> str:
    return f"DROP MODEL IF EXISTS {quoted(model)}"
