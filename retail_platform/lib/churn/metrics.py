"""Evaluation metrics of a churn model, the same names for both engines."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn import metrics


def evaluate(labels: Sequence[int], probabilities: Sequence[float]) -> dict[str, float]:
    """Metrics of churn probabilities against the true labels (threshold 0.5)."""
    y = np.asarray(labels, dtype=int)
    p = np.clip(np.asarray(probabilities, dtype=float), 1e-15, 1 - 1e-15)
    if len(set(y.tolist())) < 2:
        raise ValueError("the evaluation split needs churned and retained customers")
    predicted = (p >= 0.5).astype(int)
    return {
        "roc_auc": float(metrics.roc_auc_score(y, p)),
        "precision": float(metrics.precision_score(y, predicted, zero_division=0)),
        "recall": float(metrics.recall_score(y, predicted, zero_division=0)),
        "f1": float(metrics.f1_score(y, predicted, zero_division=0)),
        "log_loss": float(metrics.log_loss(y, p, labels=[0, 1])),
        "positive_rate": float(y.mean()),
    }
