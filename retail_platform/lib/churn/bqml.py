"""BigQuery ML statements for the churn model, generated from the feature list.

Table and model names come from configuration; they are validated and back-quoted here,
never taken from data. Numeric features are standardized and strings one-hot encoded by
BigQuery ML's automatic preprocessing, the same treatment the local pipeline applies.
"""

from __future__ import annotations

import re

from retail_platform.lib.churn.features import FEATURES, LABEL

_NAME = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z_][A-Za-z0-9_]*){1,2}$")


def quoted(name: str) -> str:
    """``[project.]dataset.name``, validated and back-quoted."""
    if not _NAME.match(name):
        raise ValueError(f"not a BigQuery table or model name: {name!r}")
    return f"`{name}`"


def _training_rows(features_table: str, split: str) -> str:
    columns = ", ".join([*FEATURES, LABEL])
    return (
        f"SELECT {columns} FROM {quoted(features_table)} WHERE role = 'train' AND split = '{split}'"
    )


def create_model_sql(model: str, features_table: str) -> str:
    """Train on the train split; our own split, so BigQuery ML's is switched off."""
    return (
        f"CREATE OR REPLACE MODEL {quoted(model)} "
        "OPTIONS (model_type = 'logistic_reg', input_label_cols = ['churned'], "
        "auto_class_weights = TRUE, data_split_method = 'NO_SPLIT') "
        f"AS {_training_rows(features_table, 'train')}"
    )


def evaluate_sql(model: str, features_table: str) -> str:
    rows = _training_rows(features_table, "eval")
    return f"SELECT * FROM ML.EVALUATE(MODEL {quoted(model)}, ({rows}))"


def split_counts_sql(features_table: str) -> str:
    return (
        "SELECT countif(split = 'train') AS rows_trained, "
        "countif(split = 'eval') AS rows_evaluated, "
        "avg(IF(split = 'eval', churned, NULL)) AS positive_rate, "
        "max(cutoff_date) AS cutoff_date, max(label_days) AS label_days "
        f"FROM {quoted(features_table)} WHERE role = 'train'"
    )


def predict_sql(model: str, features_table: str) -> str:
    """Today's churn probability per customer: the probability whose label is 1."""
    columns = ", ".join(["customer_id", *FEATURES])
    return (
        "SELECT customer_id, "
        "(SELECT p.prob FROM UNNEST(predicted_churned_probs) AS p WHERE p.label = 1) "
        "AS churn_probability "
        f"FROM ML.PREDICT(MODEL {quoted(model)}, "
        f"(SELECT {columns} FROM {quoted(features_table)} WHERE role = 'score'))"
    )
