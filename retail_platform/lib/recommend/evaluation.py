"""The recommender's gate: hit rate@10 on a time-based holdout, against popularity.

The holdout is the last :data:`HOLDOUT_DAYS` days of feedback. The engine learns from the
days before (``through`` = the day before the holdout) and recommends :data:`TOP_N`
products to every customer who had bought by then; so does the baseline, the products
most customers had bought (both leave out the customer's recent purchases, feedback.py).
A customer who buys in the holdout is a *hit* when one of the products they bought is
among their ten. The hit rate is the share of those customers with a hit.

The gate passes when the model's hit rate is at least :data:`MIN_LIFT` times the
baseline's, over at least :data:`MIN_CUSTOMERS` customers: personal recommendations
that do not beat the best-seller list by that margin are not worth showing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from retail_platform.lib.recommend.feedback import most_popular

TOP_N = 10
HOLDOUT_DAYS = 14
MIN_TRAINING_DAYS = 28  # of feedback before the holdout
MIN_LIFT = 1.15  # the model's hit rate over the baseline's
MIN_CUSTOMERS = 30  # customers with a purchase in the holdout and one before it


class NotEnoughHistory(ValueError):
    """Too few days or customers to judge a model: no new recommendations."""


@dataclass(frozen=True)
class Backtest:
    trained_through: date
    customers_evaluated: int
    hit_rate: float
    popularity_hit_rate: float

    @property
    def lift(self) -> float:
        if self.popularity_hit_rate == 0:
            return float("inf") if self.hit_rate > 0 else 0.0
        return self.hit_rate / self.popularity_hit_rate

    @property
    def passed(self) -> bool:
        return self.hit_rate > 0 and self.lift >= MIN_LIFT

    def metadata(self) -> dict[str, object]:
        return {
            "hit_rate_at_10": round(self.hit_rate, 4),
            "popularity_hit_rate_at_10": round(self.popularity_hit_rate, 4),
            "lift_over_popularity": round(self.lift, 4),
            "min_lift": MIN_LIFT,
            "customers_evaluated": self.customers_evaluated,
            "holdout_days": HOLDOUT_DAYS,
            "backtest_trained_through": self.trained_through.isoformat(),
        }


def holdout_start(feedback: pd.DataFrame) -> date:
    return feedback["transaction_date"].max() - timedelta(days=HOLDOUT_DAYS - 1)


def holdout_purchases(feedback: pd.DataFrame, trained_through: date) -> pd.Series:
    """The set of products each customer bought after ``trained_through``, for the
    customers who had bought before it (the ones recommended to)."""
    before = set(feedback.loc[feedback["transaction_date"] <= trained_through, "customer_id"])
    after = feedback[
        (feedback["transaction_date"] > trained_through) & feedback["customer_id"].isin(before)
    ]
    return after.groupby("customer_id")["product_id"].agg(set)


def hit_rate(recommended: pd.DataFrame, truth: pd.Series) -> float:
    """Share of the customers in ``truth`` with a recommended product among theirs."""
    if truth.empty:
        return 0.0
    top = recommended[recommended["recommendation_rank"] <= TOP_N]
    lists = top.groupby("customer_id")["product_id"].agg(set)
    hits = sum(bool(lists.get(customer, set()) & bought) for customer, bought in truth.items())
    return hits / len(truth)


def backtest(recommend, feedback: pd.DataFrame) -> Backtest:
    """Judge ``recommend(through, n)`` (the engine, trained on the feedback up to
    ``through``) on the holdout. Raises NotEnoughHistory when there is too little to judge."""
    if feedback.empty:
        raise NotEnoughHistory("no purchases loaded yet")
    through = holdout_start(feedback) - timedelta(days=1)
    days = (through - feedback["transaction_date"].min()).days + 1
    if days < MIN_TRAINING_DAYS:
        raise NotEnoughHistory(
            f"{days} days of purchases before the {HOLDOUT_DAYS}-day holdout; the backtest "
            f"needs {MIN_TRAINING_DAYS}"
        )
    truth = holdout_purchases(feedback, through)
    if len(truth) < MIN_CUSTOMERS:
        raise NotEnoughHistory(
            f"{len(truth)} customers bought both before and in the holdout; the backtest "
            f"needs {MIN_CUSTOMERS}"
        )
    return Backtest(
        trained_through=through,
        customers_evaluated=len(truth),
        hit_rate=hit_rate(recommend(through, TOP_N), truth),
        popularity_hit_rate=hit_rate(most_popular(feedback, through, TOP_N), truth),
    )
