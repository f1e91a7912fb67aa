"""The churn layer: leakage-free features, a model with a real signal, honest scores."""

from datetime import timedelta

import dagster as dg
import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from retail_platform.defs.ml.assets import (
    AUC_CHECK,
    CHURN_FEATURES,
    CHURN_MODEL,
    CHURN_SCORES,
    MEETS_FLOOR,
    champion,
)
from retail_platform.lib.churn.features import FEATURES, NUMERIC_FEATURES, is_eval_customer
from retail_platform.lib.churn.sklearn_model import churn_probability, train_and_evaluate
from retail_platform_tests.conftest import MONTHS_DAYS, MONTHS_START, WEEK_DAYS, WEEK_START
from retail_platform_tests.helpers.contract_model import ContractModel

SCORING_DAY = MONTHS_START + timedelta(days=MONTHS_DAYS)  # the day after the last sale
LABEL_DAYS = 60
TRAINING_CUTOFF = SCORING_DAY - timedelta(days=LABEL_DAYS)
AUC_FLOOR = 0.70
WEEK_LAST = WEEK_START + timedelta(days=WEEK_DAYS - 1)


@pytest.fixture(scope="module")
def contract(months) -> ContractModel:
    return ContractModel(months.landing_root)


def features(platform, role: str):
    return platform.frame(
        f"SELECT * FROM retail_ml.churn_features WHERE role = '{role}' ORDER BY customer_id"
    )


def latest_model_metadata(platform) -> dict:
    event = platform.instance.get_latest_materialization_event(CHURN_MODEL)
    return {k: v.value for k, v in event.asset_materialization.metadata.items()}


@pytest.mark.parametrize("role, cutoff", [("train", TRAINING_CUTOFF), ("score", SCORING_DAY)])
def test_features_and_label_equal_the_contract_computed_from_landing_files(
    months, contract, role, cutoff
):
    rows = features(months, role)
    expected = contract.churn_rows(cutoff, LABEL_DAYS)
    assert set(rows["customer_id"]) == set(expected)
    assert set(rows["cutoff_date"].dt.date) == {cutoff}
    for row in rows.itertuples():
        want = expected[row.customer_id]
        got = (row.recency_days, row.frequency, row.tenure_days, row.orders_last_30_days)
        assert got == tuple(want[k] for k in (
            "recency_days", "frequency", "tenure_days", "orders_last_30_days"
        ))  # fmt: skip
        assert row.monetary == pytest.approx(float(want["monetary"]), abs=1e-6)
        assert row.return_rate == pytest.approx(want["return_rate"])
        if role == "train":
            assert row.churned == want["churned"]
            assert row.split == ("eval" if is_eval_customer(row.customer_id) else "train")
        else:
            assert pd.isna(row.churned) and row.split == "score"
    if role == "train":  # a real label: both classes, not one
        assert 0.1 < rows["churned"].mean() < 0.9


def test_no_feature_reads_sales_on_or_after_the_cutoff(months, tmp_path, monkeypatch):
    """Delete every sale on or after the training cutoff and rebuild the features: the
    training features do not move, while the label (which must look there) does."""
    before = features(months, "train")
    platform = months.copy_to(tmp_path)
    with platform.connect() as connection:
        deleted = connection.execute(
            "DELETE FROM retail_gold.fact_sales WHERE transaction_date >= ?", [TRAINING_CUTOFF]
        ).fetchone()[0]
    assert deleted > 0
    monkeypatch.setenv("RETAIL_CHURN_AS_OF", SCORING_DAY.isoformat())  # keep the cutoffs
    assert platform.run(SCORING_DAY, selection=[CHURN_FEATURES]).success
    after = features(platform, "train")

    columns = ["customer_id", "cutoff_date", "split", *FEATURES]
    assert after[columns].equals(before[columns])
    assert before["churned"].min() == 0 and after["churned"].min() == 1  # label saw it


def test_model_reaches_the_auc_floor_and_a_shuffled_label_control_does_not(months):
    metadata = latest_model_metadata(months)
    assert metadata["roc_auc"] >= AUC_FLOOR and metadata[MEETS_FLOOR] is True
    checks = months.instance.get_latest_asset_check_evaluation_record(
        dg.AssetCheckKey(CHURN_MODEL, AUC_CHECK)
    )
    assert checks.event.dagster_event.event_specific_data.passed

    rows = features(months, "train")
    shuffled = rows.assign(churned=np.random.default_rng(0).permutation(rows["churned"]))
    _, control = train_and_evaluate(shuffled)
    assert control["roc_auc"] < AUC_FLOOR
    assert abs(control["roc_auc"] - 0.5) < 0.1  # no signal left: chance level

    # The saved artifact is the model that was measured.
    model = joblib.load(metadata["model_uri"])
    held_out = rows[rows["split"] == "eval"]
    auc = roc_auc_score(held_out["churned"].astype(int), churn_probability(model, held_out))
    assert auc == pytest.approx(metadata["roc_auc"], abs=1e-4)
    for name in ("precision", "recall", "f1", "log_loss", "positive_rate", "rows_trained"):
        assert name in metadata
    assert metadata["rows_trained"] + metadata["rows_evaluated"] == len(rows)
    assert metadata["cutoff_date"] == TRAINING_CUTOFF.isoformat()


def test_churn_scores_come_from_the_newest_model_that_met_the_floor(months, tmp_path):
    platform = months.copy_to(tmp_path)  # a fresh instance: no model registered yet
    ml = [CHURN_MODEL, CHURN_SCORES]

    def retrain(floor: float) -> dg.ExecuteInProcessResult:
        config = {"ops": {"ml__churn_model": {"config": {"auc_floor": floor}}}}
        return platform.run(SCORING_DAY, selection=ml, run_config=config, raise_on_error=False)

    def scored_versions() -> set[str]:
        rows = platform.query("SELECT DISTINCT model_version FROM retail_ml.churn_scores")
        return {version for (version,) in rows}

    weak = retrain(0.99)  # nothing reaches this floor: the check fails, nothing scores
    assert not weak.get_asset_check_evaluations()[0].passed
    assert platform.query("SELECT count(*) FROM retail_ml.churn_scores") == [(0,)]

    assert retrain(AUC_FLOOR).success
    good = champion(platform.instance)
    assert good is not None and scored_versions() == {good.version}

    retrain(0.99)  # a weaker retrain does not replace the good model
    assert champion(platform.instance) == good and scored_versions() == {good.version}


def test_customer_health_joins_segments_scores_and_lifetime_value(months, contract):
    rfm = contract.customer_rfm()
    rows = months.frame(
        "SELECT h.*, s.churn_probability AS scored_probability "
        "FROM retail_marts.customer_health h "
        "LEFT JOIN retail_ml.churn_scores s USING (customer_id)"
    )
    assert set(rows["customer_id"]) == set(rfm)
    assert rows["churn_probability"].notna().all()  # every customer with a sale is scored
    lifetime_value = dict(
        months.query("SELECT customer_id, lifetime_value FROM retail_marts.customer_health")
    )  # exact decimals (a DataFrame would hold floats)
    assert lifetime_value == {customer: row["monetary"] for customer, row in rfm.items()}
    for row in rows.itertuples():
        assert row.churn_probability == row.scored_probability
        p = row.churn_probability
        assert row.churn_risk_band == ("low" if p < 0.4 else "medium" if p < 0.7 else "high")
    segments = dict(
        months.query("SELECT customer_id, segment FROM retail_marts.agg_customer_segments")
    )
    assert all(segments[r.customer_id] == r.segment for r in rows.itertuples())
    # Risk follows behaviour: customers silent for 60+ days score riskier than recent buyers.
    silent = rows[rows["recency_days"] >= LABEL_DAYS]["churn_probability"].mean()
    recent = rows[rows["recency_days"] <= 7]["churn_probability"].mean()
    assert silent > recent + 0.2


def test_score_features_cover_every_customer_the_model_needs(months):
    rows = features(months, "score")
    assert not rows[list(NUMERIC_FEATURES)].isna().any().any()
    assert rows["last_order_date"].max().date() == SCORING_DAY - timedelta(days=1)
    assert set(rows["cutoff_date"].dt.date) == {SCORING_DAY}


def test_before_any_model_the_scores_are_empty_and_customer_health_has_no_risk(week, tmp_path):
    """The daily churn scoring on a warehouse too young to train on: nothing fails."""
    platform = week.copy_to(tmp_path)  # a week: no model, no churn_scores table yet
    health = dg.AssetKey(["marts", "customer_health"])
    # churn_scoring's assets (test_definitions.py) but the dashboard (test_dashboard.py)
    assert platform.run(WEEK_LAST, selection=[CHURN_FEATURES, CHURN_SCORES, health]).success
    # The IO manager writes no table for an empty frame: no scores either way.
    if "retail_ml.churn_scores" in platform.tables("retail_ml"):
        assert platform.query("SELECT count(*) FROM retail_ml.churn_scores") == [(0,)]
    rows = platform.query(
        "SELECT count(*), count(churn_probability), count(segment) "
        "FROM retail_marts.customer_health"
    )
    customers = platform.query("SELECT count(*) FROM retail_marts.agg_customer_segments")[0][0]
    assert rows == [(customers, 0, customers)] and customers > 0
