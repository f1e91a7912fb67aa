"""The implicit feedback the recommender learns from, and the pieces both engines share.

``retail_ml.purchase_feedback`` (sql/models/ml) holds one row per customer, product and
day: ``purchases``, how many of the customer's sales that day held the product.
Recommendations are for a day ``through``: learned from the feedback up to and including
it, leaving out what the customer bought in the :data:`RECENT_DAYS` days ending on it.

The step reads the feedback *as of* a day, one row per customer and product (at a year
of history a tenth of the rows per day; the warehouse does the sum): :data:`PAIR_COLUMNS`,
the two ids as categoricals (sorted): at a year of the bench's shop millions of pairs,
which every step after works on as integer codes, never hashing the ids again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import numpy as np
import pandas as pd
import scipy.sparse as sp

from retail_platform.lib.warehouse import Warehouse

FEEDBACK_TABLE = "retail_ml.purchase_feedback"
RECENT_DAYS = 14  # a product the customer bought in these days is not recommended
#: The feedback as of a day, per customer and product: purchases up to the day, whether
#: bought in the RECENT_DAYS ending on it, whether bought after it.
PAIR_COLUMNS = ("customer_id", "product_id", "purchases", "recent", "later")
RECOMMENDATION_COLUMNS = ("customer_id", "product_id", "score", "recommendation_rank")
_CHUNK = 4096  # customers scored at a time: a dense chunk x products matrix


def recent_since(through: date) -> date:
    """The first day whose purchases keep a product out of the recommendations."""
    return through - timedelta(days=RECENT_DAYS - 1)


def date_literal(day: date) -> str:
    """A DATE literal both engines read, from a ``date`` (never from text)."""
    if not isinstance(day, date):
        raise TypeError(f"expected a date, got {day!r}")
    return f"DATE '{day.isoformat()}'"


def feedback_days(warehouse: Warehouse) -> tuple[date, date] | None:
    """The first and the last day with purchases; None before any."""
    rows = warehouse.frame(
        f"SELECT min(transaction_date) AS first_day, max(transaction_date) AS last_day "
        f"FROM {FEEDBACK_TABLE}"
    )
    first, last = rows.iloc[0, 0], rows.iloc[0, 1]
    if pd.isna(first):
        return None
    return pd.Timestamp(first).date(), pd.Timestamp(last).date()


def read_pairs(warehouse: Warehouse, through: date) -> pd.DataFrame:
    """The feedback as of ``through`` (:data:`PAIR_COLUMNS`), summed in the warehouse."""
    until, since = date_literal(through), date_literal(recent_since(through))
    rows = warehouse.frame(
        "SELECT customer_id, product_id, "
        f"sum(CASE WHEN transaction_date <= {until} THEN purchases ELSE 0 END) AS purchases, "
        f"max(CASE WHEN transaction_date BETWEEN {since} AND {until} THEN 1 ELSE 0 END) "
        "AS recent, "
        f"max(CASE WHEN transaction_date > {until} THEN 1 ELSE 0 END) AS later "
        f"FROM {FEEDBACK_TABLE} GROUP BY customer_id, product_id"
    )
    rows.columns = [c.lower() for c in rows.columns]
    return _typed(rows)


def pairs_as_of(feedback: pd.DataFrame, through: date) -> pd.DataFrame:
    """``read_pairs`` over a frame of the table's rows (customer_id, product_id,
    transaction_date, purchases), in memory."""
    days = feedback["transaction_date"]
    pairs = feedback.assign(
        purchases=feedback["purchases"].where(days <= through, 0),
        recent=(days >= recent_since(through)) & (days <= through),
        later=days > through,
    )
    summed = pairs.groupby(["customer_id", "product_id"], as_index=False).agg(
        purchases=("purchases", "sum"), recent=("recent", "max"), later=("later", "max")
    )
    return _typed(summed)


def _typed(rows: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.Categorical(rows["customer_id"].astype(str)),
            "product_id": pd.Categorical(rows["product_id"].astype(str)),
            "purchases": rows["purchases"].astype("int64"),
            "recent": rows["recent"].astype(bool),
            "later": rows["later"].astype(bool),
        }
    )


class FeedbackMatrix:
    """The feedback as of a day as a customers x products count matrix (the customers who
    had bought by then, the products bought by then: one first bought later is no
    candidate, as in BigQuery ML's model of the same days), and what each customer bought
    recently."""

    def __init__(self, pairs: pd.DataFrame) -> None:
        bought = (pairs["purchases"] > 0).to_numpy()
        self.customers, rows = _used(pairs["customer_id"], bought)
        self.products, columns = _used(pairs["product_id"], bought)
        shape = (len(self.customers), len(self.products))
        values = pairs["purchases"].to_numpy(np.float64)[bought]
        self.counts = sp.csr_matrix((values, (rows, columns)), shape=shape)
        recent = pairs["recent"].to_numpy()[bought]
        self.recent = sp.csr_matrix(
            (np.ones(int(recent.sum()), bool), (rows[recent], columns[recent])), shape=shape
        )

    def buyers_per_product(self) -> np.ndarray:
        """How many customers bought each product: the popularity baseline's score."""
        return np.asarray((self.counts > 0).sum(axis=0), dtype=np.float64).ravel()

    def top_n(self, scores: Callable[[slice], np.ndarray], n: int) -> pd.DataFrame:
        """The ``n`` best-scored products per customer, recent purchases left out;
        ``scores(rows)`` gives the dense scores of a slice of customers. Ties go to the
        product listed first (product_id order), so the result is deterministic: scores are
        rounded to 9 decimals first, so float noise in a factorisation decides no order."""
        frames = [empty_recommendations()]
        for start in range(0, len(self.customers), _CHUNK):
            rows = slice(start, min(start + _CHUNK, len(self.customers)))
            chunk = np.round(np.array(scores(rows), dtype=np.float64), 9)
            chunk[self.recent[rows].toarray()] = -np.inf
            order = best_columns(chunk, n)
            best = np.take_along_axis(chunk, order, axis=1)
            customer = np.repeat(np.arange(rows.start, rows.stop), order.shape[1])
            frame = pd.DataFrame(
                {
                    "customer_id": self.customers[customer],
                    "product_id": self.products[order.ravel()],
                    "score": best.ravel(),
                    "recommendation_rank": np.tile(np.arange(1, order.shape[1] + 1), len(chunk)),
                }
            )
            frames.append(frame[np.isfinite(frame["score"])])
        return pd.concat(frames, ignore_index=True)


def best_columns(scores: np.ndarray, n: int) -> np.ndarray:
    """Per row, the columns of the ``n`` highest scores, best first, ties to the lower
    column: what a stable argsort of ``-scores`` starts with, without sorting every row
    (at a year of the bench's shop, the sort was most of the step)."""
    if scores.shape[1] <= n:
        return np.argsort(-scores, axis=1, kind="stable")
    nth_best = -np.partition(-scores, n - 1, axis=1)[:, n - 1 : n]
    above, tied = scores > nth_best, scores == nth_best
    # of the tied columns, the first ones (lowest column) up to n in all
    room = n - above.sum(axis=1, keepdims=True)
    chosen = above | (tied & (np.cumsum(tied, axis=1) <= room))
    columns = np.nonzero(chosen)[1].reshape(len(scores), n)  # ascending in each row
    ranked = np.argsort(-np.take_along_axis(scores, columns, axis=1), axis=1, kind="stable")
    return np.take_along_axis(columns, ranked, axis=1)


def _used(ids: pd.Series, bought: np.ndarray) -> tuple[pd.Index, np.ndarray]:
    """The ids of the ``bought`` rows, sorted, and each bought row's position among them
    (``ids``: a categorical with sorted categories, as read_pairs makes it)."""
    codes = ids.cat.codes.to_numpy()[bought]
    used = np.unique(codes)
    return pd.Index(ids.cat.categories[used]), np.searchsorted(used, codes)


def empty_recommendations() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.Series(dtype="object"),
            "product_id": pd.Series(dtype="object"),
            "score": pd.Series(dtype="float64"),
            "recommendation_rank": pd.Series(dtype="int64"),
        }
    )


def most_popular(pairs: pd.DataFrame, n: int) -> pd.DataFrame:
    """The baseline: for every customer, the ``n`` products most customers had bought,
    the customer's recent purchases left out."""
    matrix = FeedbackMatrix(pairs)
    buyers = matrix.buyers_per_product()
    return matrix.top_n(lambda rows: np.tile(buyers, (rows.stop - rows.start, 1)), n)
