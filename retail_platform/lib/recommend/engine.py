"""Where recommendations are made: a resource with two implementations.

* ``SklearnRecommendationEngine``: the truncated SVD of sklearn_model.py in the step, over
  the feedback it reads from the warehouse (summed per customer and product there).
* ``BigQueryMLRecommendationEngine``: an implicit ``MATRIX_FACTORIZATION`` model and
  ``ML.RECOMMEND`` inside BigQuery (bqml.py); the model of each version is
  ``retail_ml.product_recommender_<version>`` (the backtest's is dropped once it has
  recommended), the newest ``keep_versions`` kept. Matrix factorisation needs a BigQuery
  reservation (editions), not on-demand pricing: docs/ml.md.

Both return the same columns for the same request, so the backtest and its gate
(evaluation.py) are one piece of code for both.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

import dagster as dg
import pandas as pd
from pydantic import Field

from retail_platform.lib.gcp_credentials import BigQueryClientResource
from retail_platform.lib.recommend import bqml
from retail_platform.lib.recommend.feedback import (
    FEEDBACK_TABLE,
    RECOMMENDATION_COLUMNS,
    read_pairs,
)
from retail_platform.lib.warehouse import Warehouse

MODEL_NAME = "product_recommender"


class RecommendationEngine(dg.ConfigurableResource):
    """Recommends products per customer from their purchases."""

    factors: int = Field(default=10, description="Latent factors of the factorisation.")
    keep_versions: int = Field(default=10, description="Model versions kept (BigQuery ML).")

    @property
    def kind(self) -> str:
        raise NotImplementedError

    def recommend(
        self,
        warehouse: Warehouse,
        through: date,
        n: int,
        model_name: str,
        keep_model: bool,
        pairs: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """The ``n`` best products (:data:`RECOMMENDATION_COLUMNS`) per customer who had
        bought by ``through``, learned from the feedback up to it, their recent purchases
        left out. ``model_name`` names the model where the engine keeps one; ``pairs``, the
        feedback as of ``through`` when the caller has read it already."""
        raise NotImplementedError

    def prune(self, protected: Collection[str]) -> None:
        """Drop stored models beyond ``keep_versions``, never a version in ``protected``."""


class SklearnRecommendationEngine(RecommendationEngine):
    @property
    def kind(self) -> str:
        return "sklearn"

    def recommend(
        self,
        warehouse: Warehouse,
        through: date,
        n: int,
        model_name: str,
        keep_model: bool,
        pairs: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        from retail_platform.lib.recommend.sklearn_model import recommend

        if pairs is None:
            pairs = read_pairs(warehouse, through)
        return recommend(pairs, n, self.factors)


class BigQueryMLRecommendationEngine(RecommendationEngine, BigQueryClientResource):
    dataset: str = Field(default="retail_ml")

    @property
    def kind(self) -> str:
        return "bigquery ml"

    def recommend(
        self,
        warehouse: Warehouse,
        through: date,
        n: int,
        model_name: str,
        keep_model: bool,
        pairs: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        client = self._client()
        model = f"{self.project}.{self.dataset}.{model_name}"
        table = f"{self.project}.{FEEDBACK_TABLE}"
        client.query(bqml.create_model_sql(model, table, through, self.factors)).result()
        try:
            frame = client.query(bqml.recommend_sql(model, table, through, n)).to_dataframe()
        finally:
            if not keep_model:
                client.query(bqml.drop_model_sql(model)).result()
        return frame.loc[:, list(RECOMMENDATION_COLUMNS)]

    def prune(self, protected: Collection[str]) -> None:
        from retail_platform.lib.bqml_models import prune_models

        dataset = f"{self.project}.{self.dataset}"
        prune_models(self._client(), dataset, f"{MODEL_NAME}_", self.keep_versions, protected)
