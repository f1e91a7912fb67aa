"""The local churn model: scikit-learn logistic regression on scaled features."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from retail_platform.lib.churn.features import CATEGORICAL_FEATURES, LABEL, NUMERIC_FEATURES
from retail_platform.lib.churn.metrics import evaluate


def build_pipeline() -> Pipeline:
    """Scaled numeric features, one-hot categories, class-weighted logistic regression."""
    columns = ColumnTransformer(
        [
            ("numeric", StandardScaler(), list(NUMERIC_FEATURES)),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), list(CATEGORICAL_FEATURES)),
        ]
    )
    model = LogisticRegression(class_weight="balanced", max_iter=1000)
    return Pipeline([("features", columns), ("model", model)])


def prepared(frame: pd.DataFrame) -> pd.DataFrame:
    """Feature columns with the types the pipeline expects (warehouses return decimals)."""
    out = frame.loc[:, [*NUMERIC_FEATURES, *CATEGORICAL_FEATURES]].copy()
    out[list(NUMERIC_FEATURES)] = out[list(NUMERIC_FEATURES)].astype(float)
    out[list(CATEGORICAL_FEATURES)] = out[list(CATEGORICAL_FEATURES)].fillna("unknown").astype(str)
    return out


def churn_probability(pipeline: Pipeline, frame: pd.DataFrame) -> np.ndarray:
    """P(churned = 1), picked by class label, not by column position."""
    column = list(pipeline.classes_).index(1)
    return pipeline.predict_proba(prepared(frame))[:, column]


def train_and_evaluate(rows: pd.DataFrame) -> tuple[Pipeline, dict[str, float]]:
    """Fit on ``split == 'train'`` rows, evaluate on ``split == 'eval'`` rows."""
    train = rows[rows["split"] == "train"]
    held_out = rows[rows["split"] == "eval"]
    if train.empty or held_out.empty or train[LABEL].nunique() < 2:
        raise ValueError(
            "not enough history to train the churn model: it needs customers who bought "
            "before the training cutoff, some of whom churned and some not"
        )
    pipeline = build_pipeline().fit(prepared(train), train[LABEL].astype(int))
    metrics = evaluate(held_out[LABEL].astype(int), churn_probability(pipeline, held_out))
    return pipeline, metrics
