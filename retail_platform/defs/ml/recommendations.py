"""Product recommendations (group ``ml``, schema ``retail_ml``), built as the forecast is.

``ml/purchase_feedback`` is a dbt model (sql/models/ml): per customer, product and day,
the sales orders that held the product. ``ml/product_recommendations`` first backtests
the configured engine on the last 14 days (lib/recommend/evaluation.py); only when it
beats the popularity baseline does it learn from every day and publish the top 10 products
per customer, the ones they bought in the last 14 days left out. A model that fails
publishes nothing (no output: the table keeps the recommendations published before; the
check fails and, blocking, stops ``marts/recommended_products`` downstream), so a weak
retrain never replaces good ones. Too little history to judge is a warning that leaves
the table as it was and lets what is downstream run.
"""

from collections.abc import Iterator

import dagster as dg
import pandas as pd

from retail_platform.defs.ml.assets import ML_SCHEMA, OWNERS, model_version
from retail_platform.lib.bqml_models import BACKTEST_SUFFIX
from retail_platform.lib.recommend.engine import MODEL_NAME, RecommendationEngine
from retail_platform.lib.recommend.evaluation import (
    HOLDOUT_DAYS,
    MIN_CUSTOMERS,
    MIN_MISS_REDUCTION,
    MIN_TRAINING_DAYS,
    TOP_N,
    NotEnoughHistory,
    backtest,
    holdout_cutoff,
)
from retail_platform.lib.recommend.feedback import RECENT_DAYS, feedback_days, read_pairs
from retail_platform.lib.targets import WAREHOUSE_POOL, Target
from retail_platform.lib.warehouse import Warehouse

PURCHASE_FEEDBACK = dg.AssetKey(["ml", "purchase_feedback"])
PRODUCT_RECOMMENDATIONS = dg.AssetKey(["ml", "product_recommendations"])
RECOMMENDED_PRODUCTS = dg.AssetKey(["marts", "recommended_products"])
GATE_CHECK = "beats_popularity"
_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("customer_id", "string"),
        dg.TableColumn("product_id", "string"),
        dg.TableColumn("recommendation_rank", "int", "1: the best"),
        dg.TableColumn("score", "float", "the engine's score; higher is better"),
        dg.TableColumn("model_version", "string"),
        dg.TableColumn("trained_through", "date", "the last day of purchases learned from"),
        dg.TableColumn("engine", "string", "sklearn or bigquery ml"),
    ]
)
#: The columns of retail_ml.product_recommendations, in order.
TABLE_COLUMNS = tuple(column.name for column in _SCHEMA.columns)
RECOMMENDATIONS_TABLE = f"{ML_SCHEMA}.product_recommendations"


def published(warehouse: Warehouse) -> pd.DataFrame:
    """The recommendations published before; none (typed, empty) before the first."""
    rows = warehouse.rows_if_exists(RECOMMENDATIONS_TABLE, TABLE_COLUMNS)
    if rows is None:
        return pd.DataFrame({column: pd.Series(dtype="object") for column in TABLE_COLUMNS})
    return rows


def recommendation_assets(target: Target) -> list[dg.AssetsDefinition]:
    engine_kind = target.ml_kind

    @dg.asset(
        key=PRODUCT_RECOMMENDATIONS,
        deps=[PURCHASE_FEEDBACK],
        group_name="ml",
        pool=WAREHOUSE_POOL,
        kinds={"python", "pandas", engine_kind, target.warehouse_kind},
        owners=OWNERS,
        metadata={"schema": ML_SCHEMA, "dagster/column_schema": _SCHEMA},
        # A model that failed its gate publishes nothing, no output: the IO manager leaves
        # the published table as it is (what is downstream is blocked by the check anyway).
        output_required=False,
        check_specs=[
            dg.AssetCheckSpec(
                name=GATE_CHECK,
                asset=PRODUCT_RECOMMENDATIONS,
                blocking=True,
                description=(
                    f"On a time-based holdout (each customer's purchases in the last "
                    f"{HOLDOUT_DAYS} days; the model learns from the days before), hit "
                    f"rate@{TOP_N} (the share of the holdout's buyers with a product they "
                    f"bought among their {TOP_N}) against the popularity baseline's (the "
                    f"{TOP_N} products most customers bought): the model turns at least "
                    f"{MIN_MISS_REDUCTION:.0%} of the baseline's misses into hits. Records both "
                    "hit rates, their ratio and the misses turned. Blocking: a model that "
                    "fails publishes nothing, the recommendations before it stay. Too little "
                    f"history ({MIN_TRAINING_DAYS} days before the holdout, {MIN_CUSTOMERS} "
                    "customers in it) is a warning."
                ),
            )
        ],
        description=(
            f"The top {TOP_N} products per customer who has bought, from implicit feedback "
            f"(how often they bought what), products they bought in the last {RECENT_DAYS} "
            "days left out; published only when the model beats the popularity baseline on "
            "the holdout (check beats_popularity)."
        ),
    )
    def product_recommendations(
        context: dg.AssetExecutionContext,
        recommendation_engine: RecommendationEngine,
        warehouse: Warehouse,
    ) -> Iterator[dg.Output | dg.AssetCheckResult]:
        version = model_version(context.run.run_id)
        try:
            days = feedback_days(warehouse)
            if days is None:
                raise NotEnoughHistory("no purchases loaded yet")
            cutoff = holdout_cutoff(*days)
            pairs = read_pairs(warehouse, cutoff)
            judged = backtest(
                lambda: recommendation_engine.recommend(
                    warehouse,
                    cutoff,
                    TOP_N,
                    f"{MODEL_NAME}_{version}{BACKTEST_SUFFIX}",
                    False,
                    pairs=pairs,
                ),
                pairs,
                cutoff,
            )
        except NotEnoughHistory as short:
            # Nothing to judge yet: the table as it was (none, or empty, on a new warehouse),
            # so the mart and the dashboard after it still run; a warning says why.
            context.log.warning(f"no new product recommendations: {short}")
            earlier = published(warehouse)
            yield dg.Output(
                earlier,
                metadata={"dagster/row_count": len(earlier), "not_evaluated": str(short)},
            )
            yield dg.AssetCheckResult(
                check_name=GATE_CHECK,
                passed=False,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"not_evaluated": str(short)},
            )
            return
        metrics = {"model_version": version, **judged.metadata()}
        context.log.info(f"product recommendations {version}: {metrics}")
        if not judged.passed:
            context.log.warning(
                f"no new product recommendations: the model's hit rate@{TOP_N} "
                f"{judged.hit_rate:.3f} against the popularity baseline's "
                f"{judged.popularity_hit_rate:.3f} turns {judged.miss_reduction:.0%} of its "
                f"misses into hits, under {MIN_MISS_REDUCTION:.0%}"
            )
            yield dg.AssetCheckResult(check_name=GATE_CHECK, passed=False, metadata=metrics)
            return
        last_day = days[1]
        rows = recommendation_engine.recommend(
            warehouse, last_day, TOP_N, f"{MODEL_NAME}_{version}", True
        ).assign(model_version=version, trained_through=last_day, engine=recommendation_engine.kind)
        recommendation_engine.prune(protected={version})
        yield dg.Output(
            rows.loc[:, list(TABLE_COLUMNS)],
            metadata={
                "dagster/row_count": len(rows),
                "customers": int(rows["customer_id"].nunique()),
                "trained_through": last_day.isoformat(),
                "engine": recommendation_engine.kind,
                **metrics,
            },
        )
        yield dg.AssetCheckResult(check_name=GATE_CHECK, passed=True, metadata=metrics)

    return [product_recommendations]
