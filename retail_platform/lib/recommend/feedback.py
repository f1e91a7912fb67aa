"""The implicit feedback the recommender learns from, and the pieces both engines share.

``retail_ml.purchase_feedback`` (sql/models/ml) holds one row per customer, product and
day: ``purchases``, how many of the customer's sales orders that day held the product.
Recommendations are for a day ``through``: learned from the feedback up to and including
it, leaving out what the customer bought in the :data:`RECENT_DAYS` days ending on it.
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
RECOMMENDATION_COLUMNS = ("customer_id", "product_id", "score", "recommendation_rank")
_CHUNK = 4096  # customers scored at a time: a dense chunk x products matrix


def read_feedback(warehouse: Warehouse) -> pd.DataFrame:
    """customer_id, product_id, transaction_date (a date), purchases (an int)."""
    rows = warehouse.frame(
        f"SELECT customer_id, product_id, transaction_date, purchases FROM {FEEDBACK_TABLE}"
    )
    rows.columns = [c.lower() for c in rows.columns]
    return pd.DataFrame(
        {
            "customer_id": rows["customer_id"].astype(str),
            "product_id": rows["product_id"].astype(str),
            "transaction_date": pd.to_datetime(rows["transaction_date"]).dt.date,
            "purchases": rows["purchases"].astype("int64"),
        }
    )


def recent_since(through: date) -> date:
    """The first day whose purchases keep a product out of the recommendations."""
    return through - timedelta(days=RECENT_DAYS - 1)


class FeedbackMatrix:
    """The feedback up to ``through`` as a customers x products count matrix (customers
    with a purchase by then; every product seen in ``feedback``), and what each customer
    bought recently."""

    def __init__(self, feedback: pd.DataFrame, through: date) -> None:
        seen = feedback[feedback["transaction_date"] <= through]
        self.products = pd.Index(sorted(feedback["product_id"].unique()))
        self.customers = pd.Index(sorted(seen["customer_id"].unique()))
        counts = seen.groupby(["customer_id", "product_id"], sort=False)["purchases"].sum()
        self.counts = self._matrix(counts.index, counts.to_numpy(np.float64))
        recent = seen[seen["transaction_date"] >= recent_since(through)]
        pairs = pd.MultiIndex.from_frame(recent[["customer_id", "product_id"]]).unique()
        self.recent = self._matrix(pairs, np.ones(len(pairs))).astype(bool)

    def _matrix(self, pairs: pd.MultiIndex, values: np.ndarray) -> sp.csr_matrix:
        rows = self.customers.get_indexer(pairs.get_level_values(0))
        columns = self.products.get_indexer(pairs.get_level_values(1))
        shape = (len(self.customers), len(self.products))
        return sp.csr_matrix((values, (rows, columns)), shape=shape)

    def buyers_per_product(self) -> np.ndarray:
        """How many customers bought each product: the popularity baseline's score."""
        return np.asarray((self.counts > 0).sum(axis=0), dtype=np.float64).ravel()

    def top_n(self, scores: Callable[[slice], np.ndarray], n: int) -> pd.DataFrame:
        """The ``n`` best-scored products per customer, recent purchases left out;
        ``scores(rows)`` gives the dense scores of a slice of customers. Ties go to the
        product listed first (product_id order), so the result is deterministic."""
        frames = []
        for start in range(0, len(self.customers), _CHUNK):
            rows = slice(start, min(start + _CHUNK, len(self.customers)))
            chunk = np.array(scores(rows), dtype=np.float64, copy=True)
            chunk[self.recent[rows].toarray()] = -np.inf
            order = np.argsort(-chunk, axis=1, kind="stable")[:, :n]
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
        if not frames:
            return empty_recommendations()
        return pd.concat(frames, ignore_index=True)


def empty_recommendations() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.Series(dtype="object"),
            "product_id": pd.Series(dtype="object"),
            "score": pd.Series(dtype="float64"),
            "recommendation_rank": pd.Series(dtype="int64"),
        }
    )


def most_popular(feedback: pd.DataFrame, through: date, n: int) -> pd.DataFrame:
    """The baseline: for every customer, the ``n`` products most customers bought up to
    ``through``, the customer's recent purchases left out."""
    matrix = FeedbackMatrix(feedback, through)
    buyers = matrix.buyers_per_product()
    return matrix.top_n(lambda rows: np.tile(buyers, (rows.stop - rows.start, 1)), n)
