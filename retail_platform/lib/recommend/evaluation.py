"""The recommender's gate: hit rate@10 on a time-based holdout, against popularity.

The holdout is the last :data:`HOLDOUT_DAYS` days of feedback. The engine learns from the
days before (``through`` = the day before the holdout) and recommends :data:`TOP_N`
products to every customer who had bought by then; so does the baseline, the products
most customers had bought (both leave out the customer's recent purchases, feedback.py).
A customer who buys in the holdout is a *hit* when one of the products they bought is
among their ten. The hit rate is the share of those customers with a hit.

The gate passes when the model turns at least :data:`MIN_MISS_REDUCTION` of the
baseline's misses into hits (``1 - misses of the model / misses of the baseline``), over
at least :data:`MIN_CUSTOMERS` customers: personal recommendations that do not beat the
best-seller list by that margin are not worth showing. A margin on the misses rather than
a ratio of hit rates, because hit rates saturate: a customer who buys forty products in
the holdout is a hit for almost any list, and a ratio of 0.96 to 0.89 says little where a
third of the misses is a clear gain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from retail_platform.lib.recommend.feedback import most_popular

TOP_N = 10
HOLDOUT_DAYS = 14
MIN_TRAINING_DAYS = 28  # of feedback before the holdout
MIN_MISS_REDUCTION = 0.25  # share of the baseline's misses the model must turn into hits
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
    def miss_reduction(self) -> float:
        """1 - the model's misses / the baseline's: 0 no better, 1 no miss; 0 when the
        baseline missed no one (nothing left to beat)."""
        if self.popularity_hit_rate >= 1:
            return 0.0
        return 1 - (1 - self.hit_rate) / (1 - self.popularity_hit_rate)

    @property
    def passed(self) -> bool:
        return self.miss_reduction >= MIN_MISS_REDUCTION

    def metadata(self) -> dict[str, object]:
        return {
            "hit_rate_at_10": round(self.hit_rate, 4),
            "popularity_hit_rate_at_10": round(self.popularity_hit_rate, 4),
            "lift_over_popularity": round(self.lift, 4),
            "miss_reduction": round(self.miss_reduction, 4),
            "min_miss_reduction": MIN_MISS_REDUCTION,
            "customers_evaluated": self.customers_evaluated,
            "holdout_days": HOLDOUT_DAYS,
            "backtest_trained_through": self.trained_through.isoformat(),
        }


def holdout_cutoff(first_day: date, last_day: date) -> date:
    """The day the backtest's model learns up to: the day before the holdout. Raises
    NotEnoughHistory when fewer than MIN_TRAINING_DAYS days come before the holdout."""
    cutoff = last_day - timedelta(days=HOLDOUT_DAYS)
    days = (cutoff - first_day).days + 1
    if days < MIN_TRAINING_DAYS:
        raise NotEnoughHistory(
            f"{max(days, 0)} days of purchases before the {HOLDOUT_DAYS}-day holdout; the "
            f"backtest needs {MIN_TRAINING_DAYS}"
        )
    return cutoff


def holdout_purchases(pairs: pd.DataFrame) -> pd.DataFrame:
    """What each customer bought after the day ``pairs`` are as of (customer_id,
    product_id: a row per pair), for the customers who had bought by then (the ones
    recommended to)."""
    customer = pairs["customer_id"].cat.codes.to_numpy()
    had_bought = np.zeros(len(pairs["customer_id"].cat.categories), bool)
    had_bought[customer[(pairs["purchases"] > 0).to_numpy()]] = True
    judged = pairs["later"].to_numpy() & had_bought[customer]
    return pairs.loc[judged, ["customer_id", "product_id"]].reset_index(drop=True)


def hit_rate(recommended: pd.DataFrame, holdout: pd.DataFrame) -> float:
    """Share of the customers in ``holdout`` (holdout_purchases) with a product they
    bought there among their TOP_N ``recommended``."""
    if holdout.empty:
        return 0.0
    top = recommended[recommended["recommendation_rank"] <= TOP_N]
    customers = pd.Index(holdout["customer_id"].astype(str).unique())
    products = pd.Index(holdout["product_id"].astype(str).unique())

    def pair_keys(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Each row's customer (its position in ``customers``, -1 if not there) and a key
        per (customer, product) pair, -1 for a pair not in the holdout's ids."""
        customer = customers.get_indexer(frame["customer_id"].astype(str))
        product = products.get_indexer(frame["product_id"].astype(str))
        known = (customer >= 0) & (product >= 0)
        return customer, np.where(known, customer * len(products) + product, -1)

    recommended_to, recommended = pair_keys(top)
    hits = np.isin(recommended, pair_keys(holdout)[1])
    return len(np.unique(recommended_to[hits])) / len(customers)


def backtest(recommend: Callable[[], pd.DataFrame], pairs: pd.DataFrame, cutoff: date) -> Backtest:
    """Judge ``recommend()`` (the engine's top TOP_N, learned up to ``cutoff``) on the
    holdout, with ``pairs`` the feedback as of ``cutoff``. Raises NotEnoughHistory when
    too few customers bought both before and in the holdout."""
    truth = holdout_purchases(pairs)
    judged = truth["customer_id"].nunique()
    if judged < MIN_CUSTOMERS:
        raise NotEnoughHistory(
            f"{judged} customers bought both before and in the holdout; the backtest "
            f"needs {MIN_CUSTOMERS}"
        )
    return Backtest(
        trained_through=cutoff,
        customers_evaluated=judged,
        hit_rate=hit_rate(recommend(), truth),
        popularity_hit_rate=hit_rate(most_popular(pairs, TOP_N), truth),
    )
