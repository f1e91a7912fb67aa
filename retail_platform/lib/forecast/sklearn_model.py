"""The local forecast: the public retail calendar's effects, fitted by ridge regression on
the whole history, around a level that follows the recent weeks; fitted to the total, and
each store forecast as its recent share of it (top-down).

* Shape: log(1 + total revenue) = a level per 28-day block + a weekday effect + an effect
  per named shopping day (calendar.py), fitted on every day of the history alike, so a
  Black Friday a year back teaches as much as last week's Friday does about Fridays. The
  blocks absorb level changes (a slow January, a busy season) so they do not leak into
  the calendar effects.
* Level: the mean of what the calendar does not explain (log revenue minus the weekday
  and shopping-day effects), weighted by recency: simple exponential smoothing of the
  deseasonalized series, in two regimes. A day of the holiday season (November and
  December: calendar.HOLIDAY_SEASON_MONTHS) is forecast from every day's level, the weight
  halving every ``SEASON_HALF_LIFE_DAYS``: in season the level climbs week by week. A day
  outside it is forecast from the days outside it, halving every ``HALF_LIFE_DAYS``:
  January starts from the autumn's level, not from the weeks before Christmas.
* Stores: the total's forecast times the store's share of the total over the
  recency-weighted days (half-life ``SHARE_HALF_LIFE_DAYS``: a store's day is mostly
  noise). Each store alone has a few dozen orders a day, too few to tell a weekday
  effect from noise, and the stores' forecasts sum to the total's.
* Intervals: the quantiles of the in-sample residuals (log scale) around the forecast,
  per series, at ``level`` (0.8: the 10th and 90th percentiles).

Why this and not a forecasting library: docs/ml.md (measured against ETS and the seasonal
naive forecast on the simulated data; scikit-learn is installed already).
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge

from retail_platform.lib.forecast.calendar import calendar_features, in_holiday_season
from retail_platform.lib.forecast.metrics import TOTAL

HALF_LIFE_DAYS = 7.0
SEASON_HALF_LIFE_DAYS = 3.5
SHARE_HALF_LIFE_DAYS = 28.0
BLOCK_DAYS = 28
# Only to make the collinear design (weekdays, blocks) solvable; small against any day's
# weight of 1, so a shopping day seen once is still learned.
RIDGE_ALPHA = 1e-3
#: At least this many days of history to fit on (four of each weekday).
MIN_TRAINING_DAYS = 28


def _dense(history: pd.DataFrame, through: date) -> pd.DataFrame:
    """Days (index, up to ``through``) x stores (columns, without the total): net revenue."""
    rows = history[history["transaction_date"] <= through]
    rows = rows[rows["store_id"] != TOTAL]
    table = rows.pivot_table(
        index="transaction_date", columns="store_id", values="net_revenue", aggfunc="sum"
    ).astype(float)
    days = pd.Index(
        [table.index.min() + timedelta(days=i)
         for i in range((table.index.max() - table.index.min()).days + 1)]
    )  # fmt: skip
    return table.reindex(days).fillna(0.0).sort_index(axis=1)


def _levels(deseasonalized: np.ndarray, age: np.ndarray, season: np.ndarray) -> tuple[float, float]:
    """The level to forecast a day in the holiday season from, and a day outside it
    (from every day when the history has none outside it): the module's docstring."""
    in_season = np.average(deseasonalized, weights=0.5 ** (age / SEASON_HALF_LIFE_DAYS))
    outside = ~season if (~season).any() else np.ones_like(season)
    off_season = np.average(deseasonalized[outside], weights=0.5 ** (age[outside] / HALF_LIFE_DAYS))
    return float(in_season), float(off_season)


def _interval(residuals: np.ndarray, level: float) -> tuple[float, float]:
    tail = (1 - level) / 2
    return float(np.quantile(residuals, tail)), float(np.quantile(residuals, 1 - tail))


def forecast(history: pd.DataFrame, through: date, horizon: int, level: float) -> pd.DataFrame:
    """``horizon`` days after ``through`` for every store and the total.

    ``history``: store_id, transaction_date (date), net_revenue; rows after ``through``
    are ignored. Returns store_id, forecast_date, forecast, forecast_lower, forecast_upper.
    """
    stores = _dense(history, through)
    if len(stores) < MIN_TRAINING_DAYS:
        raise ValueError(
            f"the forecast needs {MIN_TRAINING_DAYS} days of sales up to {through}, "
            f"found {len(stores)}"
        )
    total = stores.sum(axis=1)
    days = list(stores.index)
    age = np.array([(through - d).days for d in days], dtype=float)

    calendar = calendar_features(days)
    blocks = pd.get_dummies((age // BLOCK_DAYS).astype(int), prefix="block", dtype=float)
    target = np.log1p(total.to_numpy())
    model = Ridge(alpha=RIDGE_ALPHA).fit(
        np.hstack([calendar.to_numpy(), blocks.to_numpy()]), target
    )
    effects = model.coef_[: calendar.shape[1]]
    seasonal = calendar.to_numpy() @ effects
    season_level, off_season_level = _levels(target - seasonal, age, in_holiday_season(days))
    fitted = np.where(in_holiday_season(days), season_level, off_season_level) + seasonal
    future_days = [through + timedelta(days=h) for h in range(1, horizon + 1)]
    future_level = np.where(in_holiday_season(future_days), season_level, off_season_level)
    predicted = future_level + calendar_features(future_days).to_numpy() @ effects

    frames = [_series(TOTAL, future_days, predicted, target - fitted, level)]
    share_weights = 0.5 ** (age / SHARE_HALF_LIFE_DAYS)
    share_of_total = (stores.to_numpy() * share_weights[:, None]).sum(axis=0) / float(
        (total.to_numpy() * share_weights).sum()
    )
    for column, store_id in enumerate(stores.columns):
        share = share_of_total[column]
        if share <= 0:
            frames.append(_series(str(store_id), future_days, np.full(horizon, -np.inf),
                                  np.zeros(1), level))  # fmt: skip
            continue
        store_fitted = np.log1p(share * np.expm1(fitted))
        residuals = np.log1p(stores[store_id].to_numpy()) - store_fitted
        store_predicted = np.log1p(share * np.expm1(predicted))
        frames.append(_series(str(store_id), future_days, store_predicted, residuals, level))
    return pd.concat(frames, ignore_index=True)


def _series(
    store_id: str, days: list[date], log_forecast: np.ndarray, residuals: np.ndarray, level: float
) -> pd.DataFrame:
    low, high = _interval(residuals, level)
    return pd.DataFrame(
        {
            "store_id": store_id,
            "forecast_date": days,
            "forecast": np.maximum(np.expm1(log_forecast), 0.0),
            "forecast_lower": np.maximum(np.expm1(log_forecast + low), 0.0),
            "forecast_upper": np.maximum(np.expm1(log_forecast + high), 0.0),
        }
    )
