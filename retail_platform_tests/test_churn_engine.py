"""The scikit-learn engine on its own: versions, pruning, metrics, the scoring contract.

A stand-in warehouse serves a synthetic training table (a unit test of the engine; the
real warehouse path is covered by test_churn.py)."""

import json

import numpy as np
import pandas as pd
import pytest

from retail_platform.lib.churn.engine import SklearnChurnEngine
from retail_platform.lib.churn.features import (
    CATEGORICAL_FEATURES,
    NUMERIC_FEATURES,
    is_eval_customer,
    risk_band,
)
from retail_platform.lib.warehouse import Warehouse


class TableWarehouse(Warehouse):
    """Answers every query with rows of one in-memory table, filtered by role."""

    rows_json: str

    def frame(self, sql, parameters=()):
        rows = pd.read_json(self.rows_json, orient="records")
        role = "train" if "role = 'train'" in sql else "score"
        return rows[rows["role"] == role].reset_index(drop=True)


def synthetic_rows(n: int = 800, seed: int = 3) -> pd.DataFrame:
    """Churn driven by recency, as in the simulator; the other features are noise."""
    rng = np.random.default_rng(seed)
    ids = [f"C{i:08d}" for i in range(n)]
    frame = pd.DataFrame({name: rng.normal(size=n) for name in NUMERIC_FEATURES})
    frame["recency_days"] = rng.integers(0, 90, n)
    frame["preferred_channel"] = rng.choice(["online", "in_store"], n)
    frame["preferred_region"] = rng.choice(["West", "South"], n)
    churn_p = 1 / (1 + np.exp(-(frame["recency_days"] - 45) / 10))
    frame["churned"] = (rng.random(n) < churn_p).astype(int)
    frame["customer_id"] = ids
    frame["split"] = ["eval" if is_eval_customer(c) else "train" for c in ids]
    frame["role"] = "train"
    frame["cutoff_date"] = "2025-03-02"
    frame["label_days"] = 60
    score = frame.assign(role="score", split="score", churned=None)
    return pd.concat([frame, score], ignore_index=True)


@pytest.fixture
def warehouse() -> TableWarehouse:
    return TableWarehouse(rows_json=synthetic_rows().to_json(orient="records"))


def test_training_writes_a_version_with_its_metrics(tmp_path, warehouse):
    engine = SklearnChurnEngine(model_dir=str(tmp_path))
    trained = engine.train(warehouse, "20250101_000000_a")
    assert trained.metrics["roc_auc"] > 0.8  # recency carries the signal
    assert set(trained.metrics) == {
        "roc_auc", "precision", "recall", "f1", "log_loss", "positive_rate",
    }  # fmt: skip
    assert trained.rows_trained + trained.rows_evaluated == 800
    assert (trained.cutoff_date, trained.label_days) == ("2025-03-02", 60)
    saved = json.loads((tmp_path / "churn_model" / trained.version / "metadata.json").read_text())
    assert saved["metrics"] == trained.metrics and saved["uri"] == trained.uri

    scores = engine.score(warehouse, trained.uri)
    assert list(scores.columns) == ["customer_id", "churn_probability"]
    assert len(scores) == 800 and scores["churn_probability"].between(0, 1).all()
    assert {"low", "high"} <= set(scores["churn_probability"].map(risk_band))


def test_old_versions_are_pruned_but_never_the_protected_one(tmp_path, warehouse):
    engine = SklearnChurnEngine(model_dir=str(tmp_path), keep_versions=2)
    versions = [f"2025010{i}_000000_a" for i in range(1, 6)]
    for version in versions:
        engine.train(warehouse, version, protected=[versions[0]])
    kept = sorted(p.name for p in (tmp_path / "churn_model").iterdir())
    assert kept == [versions[0], versions[3], versions[4]]


def test_scoring_with_a_missing_model_says_what_to_do(tmp_path, warehouse):
    engine = SklearnChurnEngine(model_dir=str(tmp_path))
    with pytest.raises(FileNotFoundError, match="materialize ml/churn_model"):
        engine.score(warehouse, str(tmp_path / "nope" / "model.joblib"))


def test_too_little_history_is_a_clear_error(tmp_path):
    rows = synthetic_rows()
    rows = rows[(rows["role"] == "score") | (rows["split"] == "eval")]  # no train split
    warehouse = TableWarehouse(rows_json=rows.to_json(orient="records"))
    with pytest.raises(ValueError, match="not enough history"):
        SklearnChurnEngine(model_dir=str(tmp_path)).train(warehouse, "v")


def test_risk_bands():
    assert [risk_band(p) for p in (0.0, 0.39, 0.4, 0.69, 0.7, 1.0)] == [
        "low", "low", "medium", "medium", "high", "high",
    ]  # fmt: skip
    with pytest.raises(ValueError):
        risk_band(1.5)


def test_categories_unseen_in_training_still_score(tmp_path, warehouse):
    engine = SklearnChurnEngine(model_dir=str(tmp_path))
    trained = engine.train(warehouse, "v1")
    rows = synthetic_rows()
    rows.loc[rows["role"] == "score", list(CATEGORICAL_FEATURES)] = ["phone", None]
    other = TableWarehouse(rows_json=rows.to_json(orient="records"))
    assert engine.score(other, trained.uri)["churn_probability"].notna().all()
