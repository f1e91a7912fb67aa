"""BigQuery ML statements for the recommender: an implicit-feedback MATRIX_FACTORIZATION
model (weighted alternating least squares) and ML.RECOMMEND.

The model learns from ``retail_ml.purchase_feedback`` up to a day, each customer and
product's purchases damped with ``LN(1 + purchases)`` as the local engine damps them
(the local engine also divides each product's column by the square root of its buyers;
BigQuery ML weighs implicit feedback its own way, weighted alternating least squares);
ML.RECOMMEND scores every product for every customer who had bought by then, and the
top ``n`` are kept, the customer's purchases of the last RECENT_DAYS days left out (the
local engine's rule). Names come from configuration, validated and back-quoted; days are
written as DATE literals from ``date`` values.
"""

from __future__ import annotations

from datetime import date

from retail_platform.lib.churn.bqml import quoted
from retail_platform.lib.recommend.feedback import date_literal, recent_since

RATING_COLUMN = "purchases"


def create_model_sql(model: str, feedback_table: str, through: date, factors: int) -> str:
    """Train on the feedback up to and including ``through``."""
    return (
        f"CREATE OR REPLACE MODEL {quoted(model)} "
        "OPTIONS (model_type = 'MATRIX_FACTORIZATION', "
        "feedback_type = 'IMPLICIT', "
        "user_col = 'customer_id', "
        "item_col = 'product_id', "
        f"rating_col = '{RATING_COLUMN}', "
        f"num_factors = {int(factors)}, "
        "data_split_method = 'NO_SPLIT') "
        f"AS SELECT customer_id, product_id, LN(1 + SUM(purchases)) AS {RATING_COLUMN} "
        f"FROM {quoted(feedback_table)} "
        f"WHERE transaction_date <= {date_literal(through)} "
        "GROUP BY customer_id, product_id"
    )


def recommend_sql(model: str, feedback_table: str, through: date, n: int) -> str:
    """The top ``n`` products per customer who had bought by ``through``, in the columns
    the local engine returns."""
    table, until = quoted(feedback_table), date_literal(through)
    since = date_literal(recent_since(through))
    return (
        "WITH recent AS ("
        f"SELECT DISTINCT customer_id, product_id FROM {table} "
        f"WHERE transaction_date BETWEEN {since} AND {until}), "
        "scored AS ("
        "SELECT scores.customer_id, scores.product_id, "
        f"scores.predicted_{RATING_COLUMN}_confidence AS score "
        f"FROM ML.RECOMMEND(MODEL {quoted(model)}, (SELECT DISTINCT customer_id FROM {table} "
        f"WHERE transaction_date <= {until})) AS scores "
        "LEFT JOIN recent ON recent.customer_id = scores.customer_id "
        "AND recent.product_id = scores.product_id "
        "WHERE recent.customer_id IS NULL), "
        "ranked AS ("
        "SELECT customer_id, product_id, score, ROW_NUMBER() OVER ("
        "PARTITION BY customer_id ORDER BY score DESC, product_id) AS recommendation_rank "
        "FROM scored) "
        "SELECT customer_id, product_id, score, recommendation_rank FROM ranked "
        f"WHERE recommendation_rank <= {int(n)}"
    )


def drop_model_sql(model: str) -> str:
    return f"DROP MODEL IF EXISTS {quoted(model)}"
