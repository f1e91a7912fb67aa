"""The BigQuery ML statements, parsed with sqlglot's BigQuery dialect (no BigQuery ML here:
the emulator cannot run them, so their text is what we can prove)."""

import pytest
import sqlglot
from sqlglot import exp

from retail_platform.lib.churn import bqml
from retail_platform.lib.churn.features import FEATURES, LABEL

MODEL = "my-project.retail_ml.churn_model_20261122_183000_1a2b3c4d"
TABLE = "my-project.retail_ml.churn_features"


def parse(sql: str) -> exp.Expression:
    return sqlglot.parse_one(sql, dialect="bigquery")


def parse_evaluate(sql: str) -> exp.Predict:
    """sqlglot has a parser for ML.PREDICT but none for ML.EVALUATE, which takes the same
    arguments (MODEL m, (query)): parse the statement with the name swapped."""
    assert sql.count("ML.EVALUATE(") == 1 and "ML.PREDICT" not in sql
    return parse(sql.replace("ML.EVALUATE(", "ML.PREDICT(")).find(exp.Predict)


def selected_columns(query: exp.Expression) -> list[str]:
    return [e.alias_or_name for e in query.find(exp.Select).expressions]


def test_create_model_is_a_class_weighted_logistic_regression_on_the_train_split():
    tree = parse(bqml.create_model_sql(MODEL, TABLE))
    assert isinstance(tree, exp.Create) and tree.kind == "MODEL" and tree.args["replace"]
    assert tree.this.sql(dialect="bigquery") == f"`{MODEL}`"
    options = {
        p.name.lower(): p.args["value"].sql(dialect="bigquery")
        for p in tree.find(exp.Properties).expressions
    }
    assert options["model_type"] == "'logistic_reg'"
    assert options["input_label_cols"] == "['churned']"
    assert options["auto_class_weights"] == "TRUE"
    assert options["data_split_method"] == "'NO_SPLIT'"  # our hash split, not BigQuery's
    query = tree.expression
    assert selected_columns(query) == [*FEATURES, LABEL]
    where = query.find(exp.Where).sql(dialect="bigquery")
    assert "role = 'train'" in where and "split = 'train'" in where


def test_evaluate_reads_the_model_and_only_the_eval_split():
    call = parse_evaluate(bqml.evaluate_sql(MODEL, TABLE))
    assert call is not None and call.this.sql(dialect="bigquery") == f"`{MODEL}`"
    where = call.find(exp.Where).sql(dialect="bigquery")
    assert "split = 'eval'" in where and "split = 'train'" not in where
    assert selected_columns(call.expression) == [*FEATURES, LABEL]


def test_predict_picks_the_probability_by_label_not_by_position():
    sql = bqml.predict_sql(MODEL, TABLE)
    tree = parse(sql)
    predict = tree.find(exp.Predict)
    assert predict is not None and predict.this.sql(dialect="bigquery") == f"`{MODEL}`"
    assert "role = 'score'" in predict.find(exp.Where).sql(dialect="bigquery")
    pick = next(s for s in tree.find_all(exp.Subquery) if s.find(exp.Unnest))
    pick_sql = pick.sql(dialect="bigquery")
    assert "UNNEST(predicted_churned_probs)" in pick_sql
    assert "p.label = 1" in pick_sql
    assert not list(tree.find_all(exp.Bracket))  # no predicted_churned_probs[OFFSET(1)]
    assert selected_columns(tree) == ["customer_id", "churn_probability"]


def test_split_counts_parse():
    tree = parse(bqml.split_counts_sql(TABLE))
    assert selected_columns(tree) == [
        "rows_trained", "rows_evaluated", "positive_rate", "cutoff_date", "label_days",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "name", ["retail_ml.x; DROP TABLE t", "a.b`c", "no_dataset", "p.d.t.extra", "d.1table"]
)
def test_names_are_validated_before_they_reach_sql(name):
    with pytest.raises(ValueError, match="not a BigQuery"):
        bqml.create_model_sql(name, TABLE)
    with pytest.raises(ValueError, match="not a BigQuery"):
        bqml.predict_sql(MODEL, name)
