"""BigQuery ML statements for the sales forecast: ARIMA_PLUS per series, ML.FORECAST.

One ARIMA_PLUS model holds a series per ``store_id`` (the stores and the total) of
``retail_ml.daily_net_revenue``, and the backtest's model one per origin and store (the
history up to each origin, ``time_series_id_col`` the pair); BigQuery picks each series'
ARIMA order, weekly seasonality and holiday effects (``holiday_region``: the public
calendar of that region, the analogue of the local engine's calendar features). Names come
from configuration, validated and back-quoted; training cutoffs are dates, written as DATE
literals.
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
    return (
        f"CREATE OR REPLACE MODEL {quoted(model)} "
        f"OPTIONS ({_options('store_id', horizon, holiday_region)}) "
        "AS SELECT transaction_date, store_id, CAST(net_revenue AS FLOAT64) AS net_revenue "
        f"FROM {quoted(history_table)} "
        f"WHERE transaction_date <= {_date(through)}"
    )


def create_backtest_model_sql(
    model: str, history_table: str, origins: list[date], horizon: int, holiday_region: str
) -> str:
    """One series per origin and store: the store's history up to and including the
    origin (``trained_through``)."""
    if not origins:
        raise ValueError("no backtest origin")
    listed = ", ".join(_date(origin) for origin in origins)
    return (
        f"CREATE OR REPLACE MODEL {quoted(model)} "
        f"OPTIONS ({_options(['trained_through', 'store_id'], horizon, holiday_region)}) "
        "AS SELECT CAST(trained_through AS STRING) AS trained_through, transaction_date, "
        "store_id, CAST(net_revenue AS FLOAT64) AS net_revenue "
        f"FROM {quoted(history_table)} CROSS JOIN UNNEST([{listed}]) AS trained_through "
        "WHERE transaction_date <= trained_through"
    )


def _options(series_id: str | list[str], horizon: int, holiday_region: str) -> str:
    if not _REGION.match(holiday_region):
        raise ValueError(f"not a BigQuery ML holiday region: {holiday_region!r}")
    ids = (
        f"'{series_id}'"
        if isinstance(series_id, str)
        else "[" + ", ".join(f"'{column}'" for column in series_id) + "]"
    )
    return (
        "model_type = 'ARIMA_PLUS', "
        "time_series_timestamp_col = 'transaction_date', "
        "time_series_data_col = 'net_revenue', "
        f"time_series_id_col = {ids}, "
        "data_frequency = 'DAILY', "
        f"holiday_region = '{holiday_region}', "
        f"horizon = {int(horizon)}, "
        "auto_arima = TRUE"
    )


def _date(day: date) -> str:
    if not isinstance(day, date):
        raise TypeError(f"a cutoff must be a date, got {day!r}")
    return f"DATE '{day.isoformat()}'"


def forecast_sql(model: str, horizon: int, level: float) -> str:
    """The ``horizon`` days after the training data, with a ``level`` prediction interval,
    in the columns the local engine returns."""
    return _forecast_sql(model, horizon, level, "")


def backtest_forecast_sql(model: str, horizon: int, level: float) -> str:
    """:func:`forecast_sql` of the backtest's model, each row with its series' origin."""
    return _forecast_sql(
        model, horizon, level, "CAST(trained_through AS DATE) AS trained_through, "
    )


def _forecast_sql(model: str, horizon: int, level: float, origin_column: str) -> str:
    if not 0 < level < 1:
        raise ValueError(f"the interval level must be between 0 and 1, got {level!r}")
    return (
        f"SELECT {origin_column}store_id, CAST(forecast_timestamp AS DATE) AS forecast_date, "
        "forecast_value AS forecast, "
        "prediction_interval_lower_bound AS forecast_lower, "
        "prediction_interval_upper_bound AS forecast_upper "
        f"FROM ML.FORECAST(MODEL {quoted(model)}, "
        f"STRUCT({int(horizon)} AS horizon, {float(level)} AS confidence_level))"
    )


def drop_model_sql(model: str) -> str:
    return f"DROP MODEL IF EXISTS {quoted(model)}"
