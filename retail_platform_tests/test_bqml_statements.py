"""The BigQuery ML statements, parsed with sqlglot's BigQuery dialect (no BigQuery ML here:
the emulator cannot run them, so their text is what we can prove)."""

from datetime import date
from types import SimpleNamespace

import pandas as pd
import pytest
import sqlglot
from sqlglot import exp

from retail_platform.lib.bqml_models import prune_models
from retail_platform.lib.churn import bqml
from retail_platform.lib.churn.features import FEATURES, LABEL
from retail_platform.lib.forecast import bqml as forecast_bqml
from retail_platform.lib.forecast.engine import BigQueryMLForecastEngine
from retail_platform.lib.recommend import bqml as recommend_bqml

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


# ----------------------------------------------------------------------- the sales forecast

FORECAST_MODEL = "my-project.retail_ml.sales_forecast_model_20261207_063000_1a2b3c4d"
HISTORY = "my-project.retail_ml.daily_net_revenue"


def options_of(tree: exp.Expression) -> dict[str, str]:
    return {
        p.name.lower(): p.args["value"].sql(dialect="bigquery")
        for p in tree.find(exp.Properties).expressions
    }


def test_forecast_model_is_arima_plus_per_store_on_the_history_up_to_the_cutoff():
    sql = forecast_bqml.create_model_sql(FORECAST_MODEL, HISTORY, date(2026, 11, 8), 28, "US")
    tree = parse(sql)
    assert isinstance(tree, exp.Create) and tree.kind == "MODEL" and tree.args["replace"]
    assert tree.this.sql(dialect="bigquery") == f"`{FORECAST_MODEL}`"
    options = options_of(tree)
    assert options["model_type"] == "'ARIMA_PLUS'"
    assert options["time_series_timestamp_col"] == "'transaction_date'"
    assert options["time_series_data_col"] == "'net_revenue'"
    assert options["time_series_id_col"] == "'store_id'"  # a series per store and the total
    assert options["data_frequency"] == "'DAILY'"
    assert options["holiday_region"] == "'US'"
    assert options["horizon"] == "28"
    query = tree.expression
    assert selected_columns(query) == ["transaction_date", "store_id", "net_revenue"]
    assert query.find(exp.Table).sql(dialect="bigquery") == f"`{HISTORY}`"
    where = query.find(exp.Where)
    comparison = where.find(exp.LTE)
    assert comparison is not None and comparison.this.name == "transaction_date"
    assert "2026-11-08" in comparison.expression.sql(dialect="bigquery")


def test_forecast_reads_the_model_with_a_horizon_and_an_interval_level():
    tree = parse(forecast_bqml.forecast_sql(FORECAST_MODEL, 28, 0.8))
    call = tree.find(exp.MLForecast)
    assert call is not None and call.this.sql(dialect="bigquery") == f"`{FORECAST_MODEL}`"
    params = call.args["params_struct"].sql(dialect="bigquery")
    assert "28 AS horizon" in params and "0.8 AS confidence_level" in params
    assert selected_columns(tree) == [
        "store_id", "forecast_date", "forecast", "forecast_lower", "forecast_upper",
    ]  # fmt: skip


def test_the_backtest_is_one_model_with_a_series_per_origin_and_store():
    origins = [date(2026, 11, 8), date(2026, 11, 1)]
    tree = parse(
        forecast_bqml.create_backtest_model_sql(FORECAST_MODEL, HISTORY, origins, 28, "US")
    )
    assert isinstance(tree, exp.Create) and tree.kind == "MODEL"
    options = options_of(tree)
    assert options["model_type"] == "'ARIMA_PLUS'"
    assert options["time_series_id_col"] == "['trained_through', 'store_id']"
    assert options["horizon"] == "28" and options["holiday_region"] == "'US'"
    query = tree.expression
    assert selected_columns(query) == ["trained_through", "transaction_date", "store_id",
                                       "net_revenue"]  # fmt: skip
    unnest = query.find(exp.Unnest)
    assert unnest is not None
    assert [e.sql(dialect="bigquery") for e in unnest.find(exp.Array).expressions] == [
        "CAST('2026-11-08' AS DATE)", "CAST('2026-11-01' AS DATE)",
    ]  # fmt: skip
    # each series holds its store's days up to its origin, no later
    comparison = query.find(exp.Where).find(exp.LTE)
    assert comparison.this.name == "transaction_date"
    assert comparison.expression.name == "trained_through"
    with pytest.raises(ValueError, match="no backtest origin"):
        forecast_bqml.create_backtest_model_sql(FORECAST_MODEL, HISTORY, [], 28, "US")
    with pytest.raises(TypeError, match="must be a date"):
        forecast_bqml.create_backtest_model_sql(FORECAST_MODEL, HISTORY, ["2026-11-08"], 28, "US")


def test_the_backtest_forecast_says_each_rows_origin():
    tree = parse(forecast_bqml.backtest_forecast_sql(FORECAST_MODEL, 28, 0.8))
    assert tree.find(exp.MLForecast).this.sql(dialect="bigquery") == f"`{FORECAST_MODEL}`"
    assert selected_columns(tree) == [
        "trained_through", "store_id", "forecast_date", "forecast", "forecast_lower",
        "forecast_upper",
    ]  # fmt: skip


class RecordingClient:
    """What the BigQuery ML forecast engine asks of a client: queries, in order; a query
    reading a forecast returns ``rows`` (or fails, with ``fail_reads``)."""

    def __init__(self, rows: pd.DataFrame, fail_reads: bool = False) -> None:
        self.statements: list[str] = []
        self.rows, self.fail_reads = rows, fail_reads

    def query(self, sql: str):
        self.statements.append(sql)
        reads = sql.startswith("SELECT")
        if reads and self.fail_reads:
            raise RuntimeError("the read failed")
        return SimpleNamespace(result=lambda: None, to_dataframe=lambda: self.rows.copy())


def bqml_engine(client: RecordingClient) -> BigQueryMLForecastEngine:
    engine = BigQueryMLForecastEngine(project="my-project")
    object.__setattr__(engine, "_client", lambda: client)
    return engine


def test_the_bigquery_engine_backtests_every_origin_with_one_model_and_drops_it():
    origins = [date(2026, 11, 8), date(2026, 11, 1)]
    rows = pd.DataFrame(
        {"trained_through": ["2026-11-08", "2026-11-01"], "store_id": "all_stores",
         "forecast_date": ["2026-11-09", "2026-11-02"], "forecast": 1.0,
         "forecast_lower": 0.5, "forecast_upper": 1.5}
    )  # fmt: skip
    client = RecordingClient(rows)
    frame = bqml_engine(client).backtest(None, pd.DataFrame(), origins, 28, "m_backtest")
    create, read, drop = client.statements
    assert create == forecast_bqml.create_backtest_model_sql(
        "my-project.retail_ml.m_backtest", HISTORY, origins, 28, "US"
    )
    assert read == forecast_bqml.backtest_forecast_sql("my-project.retail_ml.m_backtest", 28, 0.8)
    assert drop == forecast_bqml.drop_model_sql("my-project.retail_ml.m_backtest")
    assert frame["trained_through"].tolist() == origins  # dates, as the metrics compare them
    assert frame["forecast_date"].tolist() == [date(2026, 11, 9), date(2026, 11, 2)]
    # a failed read still drops the model
    failing = RecordingClient(rows, fail_reads=True)
    with pytest.raises(RuntimeError):
        bqml_engine(failing).backtest(None, pd.DataFrame(), origins, 28, "m_backtest")
    assert failing.statements[-1].startswith("DROP MODEL")


def test_the_bigquery_engine_keeps_the_forecasts_model():
    rows = pd.DataFrame(
        {"store_id": ["all_stores"], "forecast_date": ["2026-12-07"], "forecast": [1.0],
         "forecast_lower": [0.5], "forecast_upper": [1.5]}
    )  # fmt: skip
    client = RecordingClient(rows)
    frame = bqml_engine(client).forecast(None, pd.DataFrame(), date(2026, 12, 6), 28, "m", True)
    assert [s.split(" ")[0] for s in client.statements] == ["CREATE", "SELECT"]  # no DROP
    assert frame["forecast_date"].tolist() == [date(2026, 12, 7)]


def test_drop_model_parses():
    tree = parse(forecast_bqml.drop_model_sql(FORECAST_MODEL))
    assert isinstance(tree, exp.Drop) and tree.kind == "MODEL" and tree.args["exists"]
    (model,) = tree.args["tables"]
    assert model.sql(dialect="bigquery") == f"`{FORECAST_MODEL}`"


@pytest.mark.parametrize("name", ["retail_ml.x; DROP TABLE t", "a.b`c", "no_dataset"])
def test_forecast_names_region_and_cutoff_are_validated(name):
    with pytest.raises(ValueError, match="not a BigQuery"):
        forecast_bqml.create_model_sql(name, HISTORY, date(2026, 11, 8), 28, "US")
    with pytest.raises(ValueError, match="not a BigQuery"):
        forecast_bqml.forecast_sql(name, 28, 0.8)
    with pytest.raises(ValueError, match="holiday region"):
        forecast_bqml.create_model_sql(FORECAST_MODEL, HISTORY, date(2026, 11, 8), 28, "US'")
    with pytest.raises(TypeError, match="must be a date"):
        forecast_bqml.create_model_sql(FORECAST_MODEL, HISTORY, "2026-11-08' OR 1=1", 28, "US")


# ------------------------------------------------------------------ recommendations

RECOMMENDER = "my-project.retail_ml.product_recommender_20261207_064500_1a2b3c4d"
FEEDBACK = "my-project.retail_ml.purchase_feedback"


def parse_recommend(sql: str) -> exp.Expression:
    """sqlglot has no parser for ML.RECOMMEND, which takes the arguments of ML.PREDICT
    (MODEL m, (query)): parse the statement with the name swapped."""
    assert sql.count("ML.RECOMMEND(") == 1 and "ML.PREDICT" not in sql
    return parse(sql.replace("ML.RECOMMEND(", "ML.PREDICT("))


def test_recommender_is_implicit_matrix_factorization_on_the_feedback_up_to_the_day():
    sql = recommend_bqml.create_model_sql(RECOMMENDER, FEEDBACK, date(2026, 11, 22), 10)
    tree = parse(sql)
    assert isinstance(tree, exp.Create) and tree.kind == "MODEL" and tree.args["replace"]
    assert tree.this.sql(dialect="bigquery") == f"`{RECOMMENDER}`"
    options = options_of(tree)
    assert options["model_type"] == "'MATRIX_FACTORIZATION'"
    assert options["feedback_type"] == "'IMPLICIT'"
    assert (options["user_col"], options["item_col"]) == ("'customer_id'", "'product_id'")
    assert options["rating_col"] == "'purchases'" and options["num_factors"] == "10"
    query = tree.expression
    assert selected_columns(query) == ["customer_id", "product_id", "purchases"]
    assert query.find(exp.Table).sql(dialect="bigquery") == f"`{FEEDBACK}`"
    comparison = query.find(exp.Where).find(exp.LTE)
    assert comparison.this.name == "transaction_date"
    assert "2026-11-22" in comparison.expression.sql(dialect="bigquery")
    # One row per customer and product, the purchases damped as the local engine damps them.
    assert [g.name for g in query.args["group"].expressions] == ["customer_id", "product_id"]
    assert query.find(exp.Ln) is not None


def test_recommend_keeps_the_top_n_and_leaves_out_the_last_14_days_purchases():
    tree = parse_recommend(
        recommend_bqml.recommend_sql(RECOMMENDER, FEEDBACK, date(2026, 11, 22), 10)
    )
    call = tree.find(exp.Predict)
    assert call.this.sql(dialect="bigquery") == f"`{RECOMMENDER}`"
    customers = call.expression  # every customer who had bought by the day, the day included
    assert "DISTINCT customer_id" in customers.sql(dialect="bigquery")
    bought_by = customers.find(exp.Where).find(exp.LTE)
    assert bought_by is not None and bought_by.this.name == "transaction_date"
    assert "2026-11-22" in bought_by.expression.sql(dialect="bigquery")
    assert selected_columns(tree) == ["customer_id", "product_id", "score", "recommendation_rank"]
    recent = next(cte for cte in tree.find(exp.With).expressions if cte.alias == "recent")
    window = recent.find(exp.Between).sql(dialect="bigquery")
    assert "2026-11-09" in window and "2026-11-22" in window  # 14 days ending on the day
    sql = tree.sql(dialect="bigquery")
    assert "predicted_purchases_confidence" in sql and "recent.customer_id IS NULL" in sql
    assert tree.find(exp.Where).sql(dialect="bigquery") == "WHERE recommendation_rank <= 10"


@pytest.mark.parametrize("name", ["retail_ml.x; DROP TABLE t", "a.b`c", "no_dataset"])
def test_recommender_names_and_days_are_validated(name):
    with pytest.raises(ValueError, match="not a BigQuery"):
        recommend_bqml.create_model_sql(name, FEEDBACK, date(2026, 11, 22), 10)
    with pytest.raises(ValueError, match="not a BigQuery"):
        recommend_bqml.recommend_sql(RECOMMENDER, name, date(2026, 11, 22), 10)
    with pytest.raises(TypeError, match="expected a date"):
        recommend_bqml.recommend_sql(RECOMMENDER, FEEDBACK, "2026-11-22' OR 1=1", 10)


class ModelsOfADataset:
    """What prune_models asks of a BigQuery client: the dataset's models, and deletes."""

    def __init__(self, model_ids: list[str]) -> None:
        self.model_ids = model_ids
        self.deleted: list[str] = []

    def list_models(self, dataset: str):
        assert dataset == "p.retail_ml"
        return [type("Model", (), {"model_id": m})() for m in self.model_ids]

    def delete_model(self, model: str, not_found_ok: bool) -> None:
        self.deleted.append(model)


def test_pruning_keeps_the_newest_versions_of_a_kind_and_the_protected_one():
    client = ModelsOfADataset(
        [f"product_recommender_2026120{day}_064500_aaaaaaaa" for day in range(1, 6)]
        + ["product_recommender_20261206_064500_cccccccc_backtest"]  # a failed drop's leftover
        + ["sales_forecast_model_20261201_063000_bbbbbbbb"]  # another kind: never touched
    )
    protected = {"20261201_064500_aaaaaaaa"}
    prune_models(client, "p.retail_ml", "product_recommender_", keep=2, protected=protected)
    assert client.deleted == [
        "p.retail_ml.product_recommender_20261206_064500_cccccccc_backtest",
        "p.retail_ml.product_recommender_20261203_064500_aaaaaaaa",
        "p.retail_ml.product_recommender_20261202_064500_aaaaaaaa",
    ]
