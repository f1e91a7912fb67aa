"""The local recommender: a truncated SVD of the purchase-count matrix ("PureSVD",
Cremonesi et al. 2010), with scikit-learn's ``TruncatedSVD``.

The counts are damped (``log1p``: the tenth purchase of a product says less than the
first) and each product's column is divided by the square root of its number of buyers
before the factorisation, then multiplied back after: without that, the leading factors
learn popularity alone and every customer gets the best-sellers. A customer's scores are
their row projected on the product factors, ``x V^T V``: the products bought by customers
who bought what they bought.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD

from retail_platform.lib.recommend.feedback import FeedbackMatrix

POPULARITY_DAMPING = 0.5  # the power of the buyer count each product column is divided by


def recommend(pairs: pd.DataFrame, n: int, factors: int) -> pd.DataFrame:
    """Top ``n`` per customer who had bought, learned from the feedback as of a day
    (feedback.PAIR_COLUMNS)."""
    matrix = FeedbackMatrix(pairs)
    weight = np.power(np.maximum(matrix.buyers_per_product(), 1.0), POPULARITY_DAMPING)
    damped = sp.csr_matrix(matrix.counts.log1p() @ sp.diags(1.0 / weight))
    rank = min(factors, min(damped.shape) - 1)
    if rank < 1:
        return matrix.top_n(lambda rows: np.zeros((rows.stop - rows.start, damped.shape[1])), n)
    components = TruncatedSVD(rank, algorithm="arpack", random_state=0).fit(damped).components_
    projection = components.T @ components

    def scores(rows: slice) -> np.ndarray:
        return np.asarray(damped[rows] @ projection) * weight

    return matrix.top_n(scores, n)
