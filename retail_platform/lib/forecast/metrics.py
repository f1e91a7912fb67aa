"""The backtest's metrics and the gate, the same for both engines.

The backtest: the model is trained on the history up to ``origin`` (the last day − 28) and
forecasts the 28 days after it; so is the seasonal-naive forecast, the last observed week
repeated (the day a week before, or two, three, four weeks before: always the same weekday
of the week that ends on ``origin``). For each series (a store, or the total):

* ``MASE = MAE(model) / MAE(seasonal naive)`` over the same 28 days, both forecasts made at
  the same origin. Below 1: the model beats the naive forecast.
* ``sMAPE = 100 / n * sum(2 |F - A| / (|A| + |F|))`` in percent (a day with A = F = 0
  counts 0).
* interval coverage: the share of the days whose actual lies in [lower, upper].

* weekly strength of the total's history up to ``origin``: how much of its day-to-day
  variation the weekday explains, ``max(0, 1 - Var(R) / Var(S + R))`` of a classical
  decomposition of log(1 + revenue): the level a centred 7-day moving average, S the
  weekday means of what is left, R the rest (Hyndman & Athanasopoulos, *Forecasting:
  Principles and Practice*, 3rd ed., sections 3.4 and 4.3).

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
#: The history the gate needs: four weeks to train on before the 28 backtest days.
MIN_HISTORY_DAYS = 4 * SEASON_DAYS + HORIZON_DAYS
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


@dataclass(frozen=True)
class Backtest:
    origin: date
    horizon: int
    scores: tuple[SeriesScore, ...]
    weekly_strength: float

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
            "backtest_days": self.horizon,
            "mase": round(total.mase, 4),
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
    history: pd.DataFrame, forecast: pd.DataFrame, origin: date, horizon: int = HORIZON_DAYS
) -> Backtest:
    """Score a forecast made at ``origin`` against the history's actuals and the
    seasonal-naive forecast made at the same origin, per series.

    ``history``: store_id, transaction_date, net_revenue (every day of every series, the
    total included); ``forecast``: store_id, forecast_date, forecast, forecast_lower,
    forecast_upper for the ``horizon`` days after ``origin``."""
    days = [origin + timedelta(days=h) for h in range(1, horizon + 1)]
    scores = []
    for store_id, rows in history.groupby("store_id", sort=True):
        series = rows.set_index("transaction_date")["net_revenue"].astype(float)
        actual = series.reindex(days)
        if actual.isna().any():
            raise ValueError(f"{store_id}: the backtest days after {origin} are incomplete")
        predicted = (
            forecast[forecast["store_id"] == store_id].set_index("forecast_date").reindex(days)
        )
        if predicted["forecast"].isna().any():
            raise ValueError(f"{store_id}: the forecast misses backtest days after {origin}")
        naive = seasonal_naive(series, origin, horizon)
        a, f = actual.to_numpy(), predicted["forecast"].to_numpy(float)
        inside = (predicted["forecast_lower"].to_numpy(float) <= a) & (
            a <= predicted["forecast_upper"].to_numpy(float)
        )
        scores.append(
            SeriesScore(
                store_id=str(store_id),
                mase=mase(a, f, naive.to_numpy()),
                smape=smape(a, f),
                model_mae=mae(a, f),
                naive_mae=mae(a, naive.to_numpy()),
                coverage=float(inside.mean()),
            )
        )
    totals = history[history["store_id"] == TOTAL].set_index("transaction_date")["net_revenue"]
    return Backtest(
        origin=origin,
        horizon=horizon,
        scores=tuple(scores),
        weekly_strength=weekly_strength(totals, origin),
    )
