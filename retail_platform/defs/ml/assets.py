"""The churn model and today's scores (group ``ml``, schema ``retail_ml``).

``ml/churn_features`` is a dbt model (sql/models/ml). ``ml/churn_model`` trains a new
version with the configured engine, records its metrics on the materialization and
checks its ROC AUC against a floor. ``ml/churn_scores`` scores with the newest version
that met the floor (the materializations are the model registry), so a weak retrain
never replaces a good model.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from retail_platform.lib.churn.engine import ChurnEngine, TrainedModel
from retail_platform.lib.churn.features import (
    CATEGORICAL_FEATURES,
    LABEL,
    NUMERIC_FEATURES,
    RISK_BANDS,
    risk_band,
)
from retail_platform.lib.targets import WAREHOUSE_POOL, Target
from retail_platform.lib.warehouse import Warehouse

ML_SCHEMA = "retail_ml"
OWNERS = ["team:data-science"]
CHURN_FEATURES = dg.AssetKey(["ml", "churn_features"])
CHURN_MODEL = dg.AssetKey(["ml", "churn_model"])
CHURN_SCORES = dg.AssetKey(["ml", "churn_scores"])
AUC_CHECK = "roc_auc_above_floor"
MEETS_FLOOR = "meets_auc_floor"


class ChurnModelConfig(dg.Config):
    auc_floor: float = 0.70


@dataclass(frozen=True)
class Champion:
    version: str
    uri: str
    roc_auc: float


def model_version(run_id: str) -> str:
    """Sortable and valid as a BigQuery model name: 20261122_183000_1a2b3c4d."""
    return f"{datetime.now(UTC):%Y%m%d_%H%M%S}_{run_id[:8]}"


def model_metadata(trained: TrainedModel, engine: str, floor: float) -> dict[str, object]:
    return {
        "model_version": trained.version,
        "model_uri": trained.uri,
        "engine": engine,
        **{name: round(value, 4) for name, value in trained.metrics.items()},
        "rows_trained": trained.rows_trained,
        "rows_evaluated": trained.rows_evaluated,
        "cutoff_date": trained.cutoff_date,
        "label_days": trained.label_days,
        "auc_floor": floor,
        MEETS_FLOOR: trained.metrics["roc_auc"] >= floor,
    }


def champion(instance: dg.DagsterInstance, lookback: int = 100) -> Champion | None:
    """The newest churn_model materialization that met its AUC floor."""
    records = instance.fetch_materializations(CHURN_MODEL, limit=lookback).records
    for record in records:
        metadata = record.asset_materialization.metadata
        meets = metadata.get(MEETS_FLOOR)
        if meets is not None and meets.value:
            return Champion(
                version=str(metadata["model_version"].value),
                uri=str(metadata["model_uri"].value),
                roc_auc=float(metadata["roc_auc"].value),
            )
    return None


def ml_assets(target: Target) -> list[dg.AssetsDefinition]:
    engine_kind = target.ml_kind

    @dg.asset(
        key=CHURN_MODEL,
        deps=[CHURN_FEATURES],
        group_name="ml",
        pool=WAREHOUSE_POOL,
        kinds={"python", engine_kind},
        owners=OWNERS,
        # A model has no rows: its schema is what it reads from ml/churn_features.
        metadata={
            "dagster/column_schema": dg.TableSchema(
                columns=[
                    *(dg.TableColumn(c, "double", "numeric feature") for c in NUMERIC_FEATURES),
                    *(
                        dg.TableColumn(c, "string", "categorical feature")
                        for c in CATEGORICAL_FEATURES
                    ),
                    dg.TableColumn(LABEL, "boolean", "label: no sale in the label window"),
                ]
            )
        },
        check_specs=[
            dg.AssetCheckSpec(
                name=AUC_CHECK,
                asset=CHURN_MODEL,
                description=(
                    "ROC AUC on the evaluation split (a quarter of the customers, by hash) "
                    "is at least the floor (config auc_floor, default 0.70). A version "
                    "below the floor is kept for inspection but never scores."
                ),
            )
        ],
        description=(
            "Logistic regression of churn (no sale in the label window after the cutoff) on "
            "the training rows of ml/churn_features: trained on the train split, evaluated "
            "on the eval split; every materialization is a new model version with its metrics."
        ),
    )
    def churn_model(
        context: dg.AssetExecutionContext,
        config: ChurnModelConfig,
        churn_engine: ChurnEngine,
        warehouse: Warehouse,
    ) -> dg.MaterializeResult:
        current = champion(context.instance)
        trained = churn_engine.train(
            warehouse,
            model_version(context.run.run_id),
            protected=[current.version] if current else [],
        )
        metadata = model_metadata(trained, churn_engine.kind, config.auc_floor)
        context.log.info(f"churn model {trained.version}: {trained.metrics}")
        return dg.MaterializeResult(
            metadata=metadata,
            check_results=[
                dg.AssetCheckResult(
                    check_name=AUC_CHECK,
                    passed=bool(metadata[MEETS_FLOOR]),
                    metadata={
                        "roc_auc": metadata["roc_auc"],
                        "auc_floor": config.auc_floor,
                        "model_version": trained.version,
                    },
                )
            ],
        )

    @dg.asset(
        key=CHURN_SCORES,
        deps=[CHURN_FEATURES, CHURN_MODEL],
        group_name="ml",
        pool=WAREHOUSE_POOL,
        kinds={"python", "pandas", engine_kind, target.warehouse_kind},
        owners=OWNERS,
        metadata={
            "schema": ML_SCHEMA,
            "dagster/column_schema": dg.TableSchema(
                columns=[
                    dg.TableColumn("customer_id", "string"),
                    dg.TableColumn("churn_probability", "float"),
                    dg.TableColumn("churn_risk_band", "string", description="low/medium/high"),
                    dg.TableColumn("model_version", "string"),
                ]
            ),
        },
        description=(
            "Churn probability and risk band (low < 0.4 <= medium < 0.7 <= high) per customer "
            "as of the day after the latest sale, from the newest model version that met the "
            "AUC floor. Until such a model exists nothing is scored (the table is empty, or not "
            "created yet), and customer_health shows segments without churn risk."
        ),
    )
    def churn_scores(
        context: dg.AssetExecutionContext, churn_engine: ChurnEngine, warehouse: Warehouse
    ) -> dg.Output[pd.DataFrame]:
        model = champion(context.instance)
        if model is None:
            context.log.warning(
                "no churn model has met the AUC floor yet, so churn_scores is empty: run the "
                "churn_retrain job (or materialize ml/churn_model) once at least label_days "
                "+ a few weeks of sales are loaded"
            )
            return dg.Output(empty_scores(), metadata={"dagster/row_count": 0, "model_version": ""})
        scores = churn_engine.score(warehouse, model.uri)
        scores["churn_probability"] = scores["churn_probability"].astype(float)
        scores["churn_risk_band"] = scores["churn_probability"].map(risk_band)
        scores["model_version"] = model.version
        return dg.Output(scores, metadata=score_metadata(scores, model))

    return [churn_model, churn_scores]


def empty_scores() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.Series(dtype="string"),
            "churn_probability": pd.Series(dtype="float64"),
            "churn_risk_band": pd.Series(dtype="string"),
            "model_version": pd.Series(dtype="string"),
        }
    )


def score_metadata(scores: pd.DataFrame, model: Champion) -> dict[str, object]:
    bands = scores["churn_risk_band"].value_counts()
    return {
        "dagster/row_count": len(scores),
        "model_version": model.version,
        "model_roc_auc": model.roc_auc,
        "mean_churn_probability": round(float(scores["churn_probability"].mean()), 4),
        **{f"customers_{band}_risk": int(bands.get(band, 0)) for _, band in RISK_BANDS},
    }
