"""Where the churn model trains and scores: a resource with two implementations.

* ``SklearnChurnEngine``: scikit-learn on the local machine; the model is a joblib file
  with a metadata.json beside it, one folder per version.
* ``BigQueryMLChurnEngine``: ``CREATE MODEL`` / ``ML.EVALUATE`` / ``ML.PREDICT`` inside
  BigQuery; one model per version, ``retail_ml.churn_model_<version>``.

Both read ``retail_ml.churn_features`` and report the same metrics. Each training
makes a new version and keeps the newest ``keep_versions``; which version scores is
decided by the caller (the newest one that met the AUC floor).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Collection
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
from pydantic import Field

from retail_platform.lib.bqml_models import beyond_kept
from retail_platform.lib.churn import bqml
from retail_platform.lib.churn.features import FEATURES, FEATURES_TABLE, LABEL
from retail_platform.lib.gcp_credentials import BigQueryClientResource
from retail_platform.lib.warehouse import Warehouse

MODEL_NAME = "churn_model"


@dataclass(frozen=True)
class TrainedModel:
    version: str
    uri: str  # file path (sklearn) or project.dataset.model (BigQuery ML)
    metrics: dict[str, float]
    rows_trained: int
    rows_evaluated: int
    cutoff_date: str
    label_days: int


class ChurnEngine(dg.ConfigurableResource):
    """Trains, evaluates and scores the churn model."""

    keep_versions: int = Field(default=10, description="Model versions kept after training.")

    @property
    def kind(self) -> str:
        raise NotImplementedError

    def train(
        self, warehouse: Warehouse, version: str, protected: Collection[str] = ()
    ) -> TrainedModel:
        """Train and evaluate version ``version``, then drop old versions beyond
        ``keep_versions``, never one in ``protected`` (the model that scores today)."""
        raise NotImplementedError

    def score(self, warehouse: Warehouse, model_uri: str) -> pd.DataFrame:
        """``customer_id``, ``churn_probability`` for every customer of role 'score'."""
        raise NotImplementedError


def _training_rows(warehouse: Warehouse) -> pd.DataFrame:
    columns = ", ".join(["customer_id", "split", "cutoff_date", "label_days", *FEATURES, LABEL])
    return warehouse.frame(
        f"SELECT {columns} FROM {FEATURES_TABLE} WHERE role = 'train' ORDER BY customer_id"
    )


class SklearnChurnEngine(ChurnEngine):
    model_dir: str = Field(description="Folder of the model versions (one folder each).")

    @property
    def kind(self) -> str:
        return "sklearn"

    def train(
        self, warehouse: Warehouse, version: str, protected: Collection[str] = ()
    ) -> TrainedModel:
        import joblib

        from retail_platform.lib.churn.sklearn_model import train_and_evaluate

        rows = _training_rows(warehouse)
        pipeline, metrics = train_and_evaluate(rows)
        folder = Path(self.model_dir) / MODEL_NAME / version
        folder.mkdir(parents=True, exist_ok=True)
        joblib.dump(pipeline, folder / "model.joblib")
        trained = TrainedModel(
            version=version,
            uri=str(folder / "model.joblib"),
            metrics=metrics,
            rows_trained=int((rows["split"] == "train").sum()),
            rows_evaluated=int((rows["split"] == "eval").sum()),
            cutoff_date=_iso(rows["cutoff_date"].iloc[0]),
            label_days=int(rows["label_days"].iloc[0]),
        )
        (folder / "metadata.json").write_text(json.dumps(asdict(trained), indent=2))
        self._prune(protected)
        return trained

    def score(self, warehouse: Warehouse, model_uri: str) -> pd.DataFrame:
        import joblib

        from retail_platform.lib.churn.sklearn_model import churn_probability

        path = Path(model_uri)
        if not path.is_file():
            raise FileNotFoundError(
                f"churn model {path} is missing; materialize ml/churn_model to train one"
            )
        pipeline = joblib.load(path)
        rows = warehouse.frame(
            f"SELECT customer_id, {', '.join(FEATURES)} FROM {FEATURES_TABLE} "
            "WHERE role = 'score' ORDER BY customer_id"
        )
        return pd.DataFrame(
            {
                "customer_id": rows["customer_id"],
                "churn_probability": churn_probability(pipeline, rows),
            }
        )

    def _prune(self, protected: Collection[str]) -> None:
        versions = sorted((Path(self.model_dir) / MODEL_NAME).iterdir(), reverse=True)
        for old in beyond_kept(versions, self.keep_versions, protected, lambda p: p.name):
            shutil.rmtree(old)


class BigQueryMLChurnEngine(ChurnEngine, BigQueryClientResource):
    dataset: str = Field(default="retail_ml")

    @property
    def kind(self) -> str:
        return "bigquery ml"

    def _features(self) -> str:
        return f"{self.project}.{FEATURES_TABLE}"

    def train(
        self, warehouse: Warehouse, version: str, protected: Collection[str] = ()
    ) -> TrainedModel:
        client = self._client()
        model = f"{self.project}.{self.dataset}.{MODEL_NAME}_{version}"
        client.query(bqml.create_model_sql(model, self._features())).result()
        evaluation = dict(next(iter(client.query(bqml.evaluate_sql(model, self._features())))))
        counts = dict(next(iter(client.query(bqml.split_counts_sql(self._features())))))
        metrics = {
            "roc_auc": float(evaluation["roc_auc"]),
            "precision": float(evaluation["precision"]),
            "recall": float(evaluation["recall"]),
            "f1": float(evaluation["f1_score"]),
            "log_loss": float(evaluation["log_loss"]),
            "positive_rate": float(counts["positive_rate"]),
        }
        self._prune(client, protected)
        return TrainedModel(
            version=version,
            uri=model,
            metrics=metrics,
            rows_trained=int(counts["rows_trained"]),
            rows_evaluated=int(counts["rows_evaluated"]),
            cutoff_date=_iso(counts["cutoff_date"]),
            label_days=int(counts["label_days"]),
        )

    def score(self, warehouse: Warehouse, model_uri: str) -> pd.DataFrame:
        sql = bqml.predict_sql(model_uri, self._features())
        return self._client().query(sql).to_dataframe()

    def _prune(self, client: Any, protected: Collection[str]) -> None:
        from retail_platform.lib.bqml_models import prune_models

        dataset = f"{self.project}.{self.dataset}"
        prune_models(client, dataset, f"{MODEL_NAME}_", self.keep_versions, protected)


def _iso(value: Any) -> str:
    """A date, datetime or pandas Timestamp as YYYY-MM-DD."""
    return str(value)[:10]
