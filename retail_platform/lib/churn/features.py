"""The columns of ``retail_ml.churn_features`` the model reads, and the risk bands.

dbt builds the table (sql/models/ml/churn_features.sql); this module names what the
engines take from it, so both engines train on exactly the same columns.
"""

from __future__ import annotations

import hashlib

FEATURES_TABLE = "retail_ml.churn_features"
LABEL = "churned"

NUMERIC_FEATURES = (
    "recency_days",
    "frequency",
    "monetary",
    "tenure_days",
    "avg_basket",
    "return_rate",
    "discount_share",
    "avg_days_between_orders",
    "orders_last_30_days",
    "online_share",
)
CATEGORICAL_FEATURES = ("preferred_channel", "preferred_region")
FEATURES = NUMERIC_FEATURES + CATEGORICAL_FEATURES

#: Risk bands by churn probability: [0, 0.4) low, [0.4, 0.7) medium, [0.7, 1] high.
RISK_BANDS = ((0.4, "low"), (0.7, "medium"), (1.01, "high"))


def is_eval_customer(customer_id: str) -> bool:
    """The evaluation split, as sql/macros/churn.sql computes it (first md5 hex digit 0-3)."""
    return hashlib.md5(customer_id.encode()).hexdigest()[0] in "0123"


def risk_band(probability: float) -> str:
    for upper, band in RISK_BANDS:
        if probability < upper:
            return band
    raise ValueError(f"not a probability: {probability}")
