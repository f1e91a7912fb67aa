"""The backtest's metrics and the gate, the same for both engines.

The backtest is a rolling-origin evaluation (Hyndman & Athanasopoulos, *Forecasting:
Principles and Practice*, 3rd ed., section 5.10): at each of up to ``BACKTEST_ORIGINS``
weekly origins (the last day − 28, − 35, ... while at least ``MIN_TRAINING_DAYS`` days
lie before the origin) a model is trained on the history up to the origin and forecasts
the 28 days after it; so is the seasonal-naive forecast, the last observed week repeated
(the day a week before, or two, three, four weeks before: always the same weekday of the
week that ends on the origin). For each series (a store, or the total), over every
origin's 28 days together:

* ``MASE = MAE(model) / MAE(seasonal naive)``, both forecasts made at the same origins.
  Below 1: the model beats the naive forecast.
* ``sMAPE = 100 / n * sum(2 |F - A| / (|A| + |F|))`` in percent (a day with A = F = 0
  counts 0).
* interval coverage: the share of the days whose actual lies in [lower, upper].

Why several origins: one 28-day window of a noisy series judges a model by a month's
luck. Measured on simulated shops (docs/ml.md), a good model lost to the seasonal-naive
forecast on one window in ten (a week that happened to sit at the next month's level),
and the pooled six-origin MASE hardly ever. The last origin's MASE alone
(``latest_origin_mase``) is recorded beside it.

* weekly strength of the total's history up to the last origin: how much of its
  day-to-day variation the weekday explains, ``max(0, 1 - Var(R) / Var(S + R))`` of a
  classical decomposition of log(1 + revenue): the level a centred 7-day moving average,
  S the weekday means of what is left, R the rest (ibid., sections 3.4 and 4.3).

The gate: the total's MASE < 1, the median store's MASE < 1 (half the stores or more beat
the naive forecast, and so does the sum the executive page shows), and a weekly strength
of at least ``MIN_WEEKLY_STRENGTH``. The last one because beating the seasonal-naive
forecast shows skill only where there is a week to repeat: on a series without one (the
control: the same days with their dates shuffled) the naive forecast is last week's noise,
which any averaging model beats (docs/ml.md has the measurements).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

HORIZON_DAYS = 28
SEASON_DAYS = 7
#: Days of history a backtest's model trains on at least: four of each weekday.
MIN_TRAINING_DAYS = 4 * SEASON_DAYS
#: The history the gate needs: four weeks to train on before the 28 backtest days.
MIN_HISTORY_DAYS = MIN_TRAINING_DAYS + HORIZON_DAYS
#: Weekly backtest origins, the newest first, as many as the history has room for.
BACKTEST_ORIGINS = 6
#: Weekly strength of the total's history below which the gate fails: between what the
#: simulated shops and their shuffled controls measure (docs/ml.md).
MIN_WEEKLY_STRENGTH = 0.3
#: The series of all stores together, beside each store's own.
TOTAL = "all_stores"


@dataclass(frozen=True)
class SeriesScore:
    store_id: str
    mase: float
    smape: float
    model_mae: float
    naive_mae: float
    coverage: float
    latest_origin_mase: float


@dataclass(frozen=True)
class Backtest:
    origins: tuple[date, ...]  # the newest first
    horizon: int
    scores: tuple[SeriesScore, ...]
    weekly_strength: float

    @property
    def origin(self) -> date:
        """The newest origin: the last day − horizon."""
        return self.origins[0]

    @property
    def total(self) -> SeriesScore:
        return next(s for s in self.scores if s.store_id == TOTAL)

    @property
    def stores(self) -> list[SeriesScore]:
        return [s for s in self.scores if s.store_id != TOTAL]

    @property
    def median_store_mase(self) -> float:
        return float(np.median([s.mase for s in self.stores])) if self.stores else float("nan")

    @property
    def passed(self) -> bool:
        """The gate: total MASE < 1, median store MASE < 1, and a weekly pattern."""
        return bool(
            self.total.mase < 1
            and self.median_store_mase < 1
            and self.weekly_strength >= MIN_WEEKLY_STRENGTH
        )

    def metadata(self) -> dict[str, object]:
        total = self.total
        return {
            "backtest_origin": self.origin.isoformat(),
            "backtest_origins": len(self.origins),
            "backtest_days": self.horizon,
            "mase": round(total.mase, 4),
            "latest_origin_mase": round(total.latest_origin_mase, 4),
            "smape_percent": round(total.smape, 2),
            "model_mae": round(total.model_mae, 2),
            "baseline_mae": round(total.naive_mae, 2),
            "interval_coverage": round(total.coverage, 4),
            "median_store_mase": round(self.median_store_mase, 4),
            "median_store_smape_percent": round(float(np.median([s.smape for s in self.stores])), 2)
            if self.stores
            else None,
            "stores_beating_naive": sum(s.mase < 1 for s in self.stores),
            "stores": len(self.stores),
            "weekly_strength": round(self.weekly_strength, 4),
            "min_weekly_strength": MIN_WEEKLY_STRENGTH,
        }


def mae(actual: np.ndarray, forecast: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(actual, float) - np.asarray(forecast, float))))


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric MAPE in percent; a day with actual = forecast = 0 counts 0."""
    a, f = np.abs(np.asarray(actual, float)), np.asarray(forecast, float)
    denominator = a + np.abs(f)
    terms = np.where(
        denominator == 0,
        0.0,
        2 * np.abs(f - np.asarray(actual, float)) / np.where(denominator == 0, 1.0, denominator),
    )
    return float(100 * terms.mean())


def mase(actual: np.ndarray, forecast: np.ndarray, naive: np.ndarray) -> float:
    """MAE of the forecast over the MAE of the seasonal-naive forecast on the same days."""
    model_error, naive_error = mae(actual, forecast), mae(actual, naive)
    if naive_error == 0:
        return 0.0 if model_error == 0 else float("inf")
    return model_error / naive_error


def backtest_origins(first: date, last: date, horizon: int = HORIZON_DAYS) -> list[date]:
    """The weekly origins a history from ``first`` to ``last`` has room for, the newest
    (``last - horizon``) first: up to :data:`BACKTEST_ORIGINS`, each with at least
    :data:`MIN_TRAINING_DAYS` days up to it."""
    newest = last - timedelta(days=horizon)
    origins = [newest - timedelta(days=SEASON_DAYS * k) for k in range(BACKTEST_ORIGINS)]
    return [o for o in origins if (o - first).days + 1 >= MIN_TRAINING_DAYS]


def seasonal_naive(history: pd.Series, origin: date, horizon: int) -> pd.Series:
    """The last observed week (the 7 days ending on ``origin``) repeated ``horizon`` days:
    day ``origin + h`` gets the value of ``origin + h - 7k``, the same weekday in that week.
    ``history``: values indexed by day, every day of that week present."""
    last_week = [origin - timedelta(days=SEASON_DAYS - 1 - i) for i in range(SEASON_DAYS)]
    values = history.reindex(last_week)
    if values.isna().any():
        raise ValueError(f"the week ending {origin} is incomplete: no seasonal-naive forecast")
    days = [origin + timedelta(days=h) for h in range(1, horizon + 1)]
    # origin + h has the weekday of last_week[(h - 1) % 7]
    return pd.Series(
        [values.iloc[(h - 1) % SEASON_DAYS] for h in range(1, horizon + 1)], index=days, dtype=float
    )


def weekly_strength(history: pd.Series, through: date) -> float:
    """Share of the day-to-day variation of log(1 + value) up to ``through`` that the
    weekday explains (see the module's docstring); ``history``: values indexed by day."""
    values = history[[day <= through for day in history.index]].sort_index().astype(float)
    logged = np.log1p(values)
    detrended = (logged - logged.rolling(SEASON_DAYS, center=True).mean()).dropna()
    if len(detrended) < 2 * SEASON_DAYS or detrended.var() == 0:
        return 0.0
    weekdays = [day.weekday() for day in detrended.index]
    seasonal = detrended.groupby(weekdays).transform("mean").to_numpy()
    remainder = detrended.to_numpy() - seasonal
    return float(max(0.0, 1 - remainder.var(ddof=1) / detrended.var()))


def backtest_scores(
    history: pd.DataFrame,
    forecast: pd.DataFrame,
    origins: list[date],
    horizon: int = HORIZON_DAYS,
) -> Backtest:
    """Score the forecasts made at ``origins`` (the newest first) against the history's
    actuals and the seasonal-naive forecasts made at the same origins, per series, over
    all origins' days together.

    ``history``: store_id, transaction_date, net_revenue (every day of every series, the
    total included); ``forecast``: trained_through (the origin), store_id, forecast_date,
    forecast, forecast_lower, forecast_upper for the ``horizon`` days after each origin."""
    if not origins:
        raise ValueError("no backtest origin")
    scores = []
    for store_id, rows in history.groupby("store_id", sort=True):
        series = rows.set_index("transaction_date")["net_revenue"].astype(float)
        windows = [_window(series, forecast, str(store_id), origin, horizon) for origin in origins]
        actual, model, naive, lower, upper = (
            np.concatenate([w[i] for w in windows]) for i in range(5)
        )
        scores.append(
            SeriesScore(
                store_id=str(store_id),
                mase=mase(actual, model, naive),
                smape=smape(actual, model),
                model_mae=mae(actual, model),
                naive_mae=mae(actual, naive),
                coverage=float(((lower <= actual) & (actual <= upper)).mean()),
                latest_origin_mase=mase(windows[0][0], windows[0][1], windows[0][2]),
            )
        )
    totals = history[history["store_id"] == TOTAL].set_index("transaction_date")["net_revenue"]
    return Backtest(
        origins=tuple(origins),
        horizon=horizon,
        scores=tuple(scores),
        weekly_strength=weekly_strength(totals, origins[0]),
    )


def _window(
    series: pd.Series, forecast: pd.DataFrame, store_id: str, origin: date, horizon: int
) -> tuple[np.ndarray, ...]:
    """actual, model, naive, lower, upper for the ``horizon`` days after ``origin``."""
    days = [origin + timedelta(days=h) for h in range(1, horizon + 1)]
    actual = series.reindex(days)
    if actual.isna().any():
        raise ValueError(f"{store_id}: the backtest days after {origin} are incomplete")
    rows = forecast[(forecast["store_id"] == store_id) & (forecast["trained_through"] == origin)]
    predicted = rows.set_index("forecast_date").reindex(days)
    if predicted["forecast"].isna().any():
        raise ValueError(f"{store_id}: the forecast misses backtest days after {origin}")
    return (
        actual.to_numpy(),
        predicted["forecast"].to_numpy(float),
        seasonal_naive(series, origin, horizon).to_numpy(),
        predicted["forecast_lower"].to_numpy(float),
        predicted["forecast_upper"].to_numpy(float),
    )
