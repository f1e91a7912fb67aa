"""The sales forecast: an engine that finds a calendar it was not told, a gate that passes
on the simulated shop and fails on the same days with their dates shuffled, and a mart whose
actuals are the contract's net revenue recomputed from the landed files."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from retail_platform.defs.ml.forecast import (
    FORECAST_VERSIONS,
    GATE_CHECK,
    SALES_FORECAST,
    SALES_HISTORY,
    SALES_VS_FORECAST,
)
from retail_platform.lib.forecast.backtest import (
    NotEnoughHistory,
    as_table,
    forecast_version,
    kept_versions,
    newest_passed,
)
from retail_platform.lib.forecast.calendar import black_friday, calendar_features
from retail_platform.lib.forecast.engine import SklearnForecastEngine
from retail_platform.lib.forecast.metrics import (
    MIN_WEEKLY_STRENGTH,
    TOTAL,
    backtest_origins,
    backtest_scores,
    mase,
    seasonal_naive,
    smape,
)
from retail_platform.lib.warehouse import Warehouse
from retail_platform_tests.conftest import MONTHS_DAYS, MONTHS_START, WEEK_DAYS, WEEK_START
from retail_platform_tests.helpers.contract_model import ContractModel
from retail_platform_tests.helpers.local_platform import check_evaluation

LAST_DAY = MONTHS_START + timedelta(days=MONTHS_DAYS - 1)
# Monday..Sunday: not the simulator's pattern, so the engine must find it in the data.
WEEKLY = np.array([0.8, 0.85, 0.9, 1.0, 1.15, 1.5, 0.8])
STORE_LEVELS = {"S1": 1000.0, "S2": 2000.0, "S3": 3000.0, "S4": 4000.0}


class NoWarehouse(Warehouse):
    """The scikit-learn engine forecasts the history it is given; it queries nothing."""

    def frame(self, sql, parameters=()):
        raise AssertionError(f"the sklearn engine queried the warehouse: {sql}")


def synthetic_history(
    first: date, days: int, seed: int = 0, black_friday_lift: float = 1.0, noise: float = 0.1
) -> pd.DataFrame:
    """Four stores with the WEEKLY pattern, log-normal noise, and Black Friday x lift."""
    rng = np.random.default_rng(seed)
    rows = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        lift = black_friday_lift if day == black_friday(day.year) else 1.0
        total = 0.0
        for store, level in STORE_LEVELS.items():
            value = level * WEEKLY[day.weekday()] * lift * float(np.exp(rng.normal(0, noise)))
            rows.append((store, day, value))
            total += value
        rows.append((TOTAL, day, total))
    return pd.DataFrame(rows, columns=["store_id", "transaction_date", "net_revenue"])


def shuffled_dates(history: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """The same days' values, every series moved together to a random other date."""
    days = sorted(history["transaction_date"].unique())
    moved = dict(zip(days, np.random.default_rng(seed).permutation(days), strict=True))
    return history.assign(transaction_date=history["transaction_date"].map(moved))


# ------------------------------------------------------------------- metrics, by hand


def test_mase_smape_and_the_seasonal_naive_forecast_are_what_the_docs_define():
    days = [date(2025, 3, 3) + timedelta(days=i) for i in range(14)]  # Monday..Sunday x 2
    history = pd.Series([float(i) for i in range(14)], index=days)
    naive = seasonal_naive(history, origin=days[-1], horizon=9)
    # The last week (values 7..13, Monday..Sunday) repeated: day 15 is a Monday again.
    assert list(naive) == [7, 8, 9, 10, 11, 12, 13, 7, 8]
    assert [d.weekday() for d in naive.index] == [d.weekday() for d in days[7:]] + [0, 1]

    actual, forecast, baseline = np.array([10, 20]), np.array([12, 20]), np.array([14, 16])
    assert mase(actual, forecast, baseline) == pytest.approx((2 / 2) / (8 / 2))
    assert smape(actual, forecast) == pytest.approx(100 * (2 * 2 / 22 + 0) / 2)
    assert smape(np.array([0.0]), np.array([0.0])) == 0


def test_the_backtest_origins_are_weekly_and_leave_four_weeks_to_train():
    last = date(2025, 6, 30)
    assert backtest_origins(date(2025, 1, 1), last) == [
        date(2025, 6, 2), date(2025, 5, 26), date(2025, 5, 19), date(2025, 5, 12),
        date(2025, 5, 5), date(2025, 4, 28),
    ]  # fmt: skip
    # 63 days: the newest origin has 35 days to train on, the one a week before 28, the
    # next would have 21.
    first = last - timedelta(days=62)
    assert backtest_origins(first, last) == [date(2025, 6, 2), date(2025, 5, 26)]
    assert backtest_origins(last - timedelta(days=55), last) == [date(2025, 6, 2)]
    assert backtest_origins(last - timedelta(days=54), last) == []


def test_the_gate_pools_the_errors_of_every_origin():
    """MASE over two origins is the sum of the model's errors over the sum of the naive
    forecast's, not the mean of the two ratios; the latest origin's own is kept beside."""
    days = [date(2025, 3, 3) + timedelta(days=i) for i in range(21)]  # Monday, 3 weeks
    values = [10.0] * 7 + [20.0] * 7 + [30.0] * 7
    history = pd.DataFrame({"store_id": TOTAL, "transaction_date": days, "net_revenue": values})
    newest, older = days[13], days[6]  # the Sundays ending weeks 2 and 1

    def forecast(origin: date, value: float) -> pd.DataFrame:
        forecast_days = [origin + timedelta(days=h) for h in range(1, 8)]
        return pd.DataFrame({"trained_through": origin, "store_id": TOTAL,
                             "forecast_date": forecast_days, "forecast": value,
                             "forecast_lower": value - 1, "forecast_upper": value + 1})  # fmt: skip

    rows = pd.concat([forecast(newest, 29.0), forecast(older, 10.0)])
    scores = backtest_scores(history, rows, [newest, older], horizon=7).total
    # newest: actual 30, model 29 (error 1), naive 20 (error 10); older: actual 20,
    # model 10 (error 10), naive 10 (error 10). Pooled (1 + 10) / (10 + 10).
    assert scores.mase == pytest.approx(11 / 20)
    assert scores.latest_origin_mase == pytest.approx(1 / 10)
    assert scores.coverage == pytest.approx(7 / 14)  # the newest origin's days only
    with pytest.raises(ValueError, match="misses backtest days"):
        backtest_scores(history, rows[rows["trained_through"] == newest], [newest, older], 7)


def test_the_public_calendar_names_the_shopping_days():
    assert black_friday(2025) == date(2025, 11, 28) and black_friday(2026) == date(2026, 11, 27)
    features = calendar_features([date(2026, 11, 27), date(2026, 11, 30), date(2026, 12, 25)])
    assert features["black_friday"].tolist() == [1, 0, 0]
    assert features["cyber_monday"].tolist() == [0, 1, 0]
    assert features["christmas_day"].tolist() == [0, 0, 1]
    assert features["weekday_fri"].tolist() == [1, 0, 1]


# ------------------------------------------------------------- the engine, synthetic


def test_the_engine_finds_a_weekly_pattern_it_was_not_told_and_beats_the_naive_forecast():
    history = synthetic_history(date(2025, 1, 6), 140)
    made = forecast_version(SklearnForecastEngine(), NoWarehouse(), history, "v1")
    backtest = made.backtest
    assert backtest.passed
    assert backtest.total.mase < 0.9 and backtest.median_store_mase < 0.9
    assert backtest.weekly_strength > MIN_WEEKLY_STRENGTH
    assert 0.6 <= backtest.total.coverage <= 1.0  # an 80 % interval, on 28 days

    future = made.rows[made.rows["forecast_kind"] == "forecast"]
    total = future[future["store_id"] == TOTAL].set_index("forecast_date")["forecast"]
    by_weekday = total.groupby([d.weekday() for d in total.index]).mean()
    assert by_weekday[5] / by_weekday[0] == pytest.approx(WEEKLY[5] / WEEKLY[0], rel=0.08)
    assert total.mean() == pytest.approx(sum(STORE_LEVELS.values()) * WEEKLY.mean(), rel=0.08)
    # The stores' forecasts add up to the total's (top-down), each in its interval.
    stores = future[future["store_id"] != TOTAL].groupby("forecast_date")["forecast"].sum()
    assert np.allclose(stores.reindex(total.index), total, rtol=1e-9)
    assert (future["forecast_lower"] <= future["forecast"]).all()
    assert (future["forecast"] <= future["forecast_upper"]).all()
    assert set(future["trained_through"]) == {history["transaction_date"].max()}
    assert len(made.rows) == 2 * 28 * (len(STORE_LEVELS) + 1)


def test_the_backtest_sees_nothing_after_its_origin():
    history = synthetic_history(date(2025, 1, 6), 140)
    origin = history["transaction_date"].max() - timedelta(days=28)
    later = history["transaction_date"] > origin
    altered = history.assign(net_revenue=history["net_revenue"].where(~later, 0.0))
    engine = SklearnForecastEngine()
    made = forecast_version(engine, NoWarehouse(), history, "v1").rows
    blind = forecast_version(engine, NoWarehouse(), altered, "v1").rows
    columns = ["store_id", "forecast_date", "forecast", "forecast_lower", "forecast_upper"]
    backtest = made["forecast_kind"] == "backtest"
    assert made.loc[backtest, columns].equals(blind.loc[backtest, columns])
    assert not made.loc[~backtest, columns].equals(blind.loc[~backtest, columns])
    # every origin's forecast is the one made from the history cut at that origin
    origins = backtest_origins(history["transaction_date"].min(), origin + timedelta(days=28))
    rows = engine.backtest(NoWarehouse(), history, origins, 28, "m")
    for each in origins:
        cut = engine.forecast(
            NoWarehouse(), history[history["transaction_date"] <= each], each, 28, "m", False
        )
        own = rows[rows["trained_through"] == each].drop(columns="trained_through")
        assert own.reset_index(drop=True).equals(cut.reset_index(drop=True))


def test_january_is_forecast_from_the_level_outside_the_holiday_season():
    """Trained through 31 December on a season half again as busy, the January forecast
    starts from the autumn's level, not December's."""
    history = synthetic_history(date(2025, 9, 1), 122, noise=0.05)
    season = history["transaction_date"].map(lambda d: 1.5 if d.month in (11, 12) else 1.0)
    history = history.assign(net_revenue=history["net_revenue"] * season)
    through = date(2025, 12, 31)
    rows = SklearnForecastEngine().forecast(NoWarehouse(), history, through, 28, "m", False)
    january = rows[rows["store_id"] == TOTAL]["forecast"].mean()
    autumn_level = sum(STORE_LEVELS.values()) * WEEKLY.mean()
    assert january == pytest.approx(autumn_level, rel=0.08)


def test_a_shopping_day_seen_a_year_ago_is_forecast_from_it():
    history = synthetic_history(date(2024, 9, 2), 440, black_friday_lift=2.5, noise=0.05)
    through = date(2025, 11, 14)  # two weeks before Black Friday 2025
    rows = SklearnForecastEngine().forecast(
        NoWarehouse(), history[history["transaction_date"] <= through], through, 28, "m", False
    )
    total = rows[rows["store_id"] == TOTAL].set_index("forecast_date")["forecast"]
    friday_before = black_friday(2025) - timedelta(days=7)
    assert total[black_friday(2025)] / total[friday_before] == pytest.approx(2.5, rel=0.15)


def test_without_a_weekly_pattern_the_gate_fails_though_the_naive_forecast_is_beaten():
    """Why the gate asks for a weekly pattern too: on shuffled dates the seasonal-naive
    forecast is last week's noise, which the model's average beats."""
    history = shuffled_dates(synthetic_history(date(2025, 1, 6), 140))
    backtest = forecast_version(SklearnForecastEngine(), NoWarehouse(), history, "v1").backtest
    assert backtest.total.mase < 1  # beaten...
    assert backtest.weekly_strength < MIN_WEEKLY_STRENGTH  # ...but there is no week to repeat
    assert not backtest.passed


def test_too_short_a_history_makes_no_version():
    history = synthetic_history(date(2025, 1, 6), 55)
    with pytest.raises(NotEnoughHistory, match="needs 56 days"):
        forecast_version(SklearnForecastEngine(), NoWarehouse(), history, "v1")


def test_the_table_keeps_the_newest_versions_and_the_newest_that_passed():
    def version(name: str, passed: bool) -> pd.DataFrame:
        return as_table(
            pd.DataFrame(
                {"store_id": [TOTAL], "forecast_date": [date(2025, 5, 1)],
                 "forecast_kind": ["forecast"], "forecast": [1.0], "forecast_lower": [0.5],
                 "forecast_upper": [1.5], "interval_level": [0.8], "model_version": [name],
                 "trained_through": [date(2025, 4, 30)], "passed_gate": [passed],
                 "engine": ["sklearn"]}
            )
        )  # fmt: skip

    table = as_table(pd.DataFrame())
    for name, passed in (("v1", True), ("v2", False), ("v3", False), ("v4", False)):
        table = kept_versions(table, version(name, passed), keep=2)
    assert sorted(table["model_version"]) == ["v1", "v3", "v4"]
    assert set(newest_passed(table)["model_version"]) == {"v1"}  # what is published
    table = kept_versions(table, version("v5", True), keep=2)
    assert sorted(table["model_version"]) == ["v4", "v5"]
    assert set(newest_passed(table)["model_version"]) == {"v5"}
    assert newest_passed(version("v6", False)).empty


# --------------------------------------------------- through Dagster, on the simulated shop

#: The forecast's run after the history: versions (the gate), published, the mart.
FORECAST = [FORECAST_VERSIONS, SALES_FORECAST, SALES_VS_FORECAST]


@pytest.fixture(scope="module")
def forecast(months, tmp_path_factory) -> dict:
    """The four simulated months' history, a forecast version and the mart, one run."""
    platform = months.copy_to(tmp_path_factory.mktemp("forecast"))
    result = platform.run_models(LAST_DAY, [SALES_HISTORY, *FORECAST])
    return {"platform": platform, "result": result}


@pytest.fixture(scope="module")
def contract(months) -> ContractModel:
    return ContractModel(months.landing_root)


def test_the_gate_passes_on_the_simulated_shop(forecast):
    result = forecast["result"]
    assert result.success
    gate = check_evaluation(result, GATE_CHECK)
    assert gate.passed and gate.severity == dg.AssetCheckSeverity.ERROR
    metadata = {k: v.value for k, v in gate.metadata.items()}
    assert metadata["mase"] < 1 and metadata["median_store_mase"] < 1
    assert metadata["model_mae"] < metadata["baseline_mae"]
    assert metadata["backtest_origin"] == (LAST_DAY - timedelta(days=28)).isoformat()
    assert metadata["backtest_origins"] == 6  # four months leave room for all
    assert metadata["latest_origin_mase"] > 0
    assert 0 < metadata["smape_percent"] < 100
    assert metadata["weekly_strength"] >= MIN_WEEKLY_STRENGTH
    assert SALES_VS_FORECAST in {
        e.asset_key for e in result.get_asset_materialization_events() if e.asset_key
    }


def test_the_history_is_the_contracts_net_revenue_every_day(forecast, contract):
    rows = forecast["platform"].query(  # exact decimals (a DataFrame would make them floats)
        "SELECT transaction_date, store_id, net_revenue FROM retail_ml.daily_net_revenue"
    )
    daily = contract.daily_sales()
    stores = {store for _, store in daily}
    days = [MONTHS_START + timedelta(days=i) for i in range(MONTHS_DAYS)]
    assert len(rows) == len(days) * (len(stores) + 1)  # dense, and the total
    got = {(day, store): value for day, store, value in rows}
    for day in days:
        expected = {s: daily[(day, s)]["net_revenue"] if (day, s) in daily else Decimal(0)
                    for s in stores}  # fmt: skip
        for store, value in expected.items():
            assert got[(day, store)] == value, (day, store)
        assert got[(day, TOTAL)] == sum(expected.values()), day


def test_the_mart_puts_the_contracts_actuals_beside_the_forecast(forecast, contract):
    rows = forecast["platform"].query(
        "SELECT forecast_date, store_id, forecast_kind, actual_net_revenue, forecast_lower, "
        "forecast_upper, within_interval, model_version FROM retail_marts.sales_vs_forecast"
    )
    daily = contract.daily_sales()
    stores = {store for _, store in daily}
    assert len(rows) == 2 * 28 * (len(stores) + 1)
    backtest = [r for r in rows if r[2] == "backtest"]
    ahead = [r for r in rows if r[2] == "forecast"]
    assert max(r[0] for r in backtest) == LAST_DAY
    assert min(r[0] for r in ahead) == LAST_DAY + timedelta(days=1)
    assert all(r[3] is None and r[6] is None for r in ahead)  # not landed yet
    for day, store, _, actual, lower, upper, within, _ in backtest:
        if store == TOTAL:
            expected = sum(v["net_revenue"] for (d, _), v in daily.items() if d == day)
        else:
            expected = daily[(day, store)]["net_revenue"]
        assert actual == expected, (day, store)
        assert within == (lower <= float(expected) <= upper)
    assert len({r[7] for r in rows}) == 1


def test_shuffled_dates_fail_the_gate_and_the_mart_keeps_the_forecast_that_passed(
    forecast, tmp_path
):
    platform = forecast["platform"].copy_to(tmp_path)
    before = platform.frame("SELECT DISTINCT model_version FROM retail_marts.sales_vs_forecast")
    with platform.connect() as connection:
        history = connection.execute(
            "SELECT store_id, transaction_date, net_revenue FROM retail_ml.daily_net_revenue"
        ).df()
        history["transaction_date"] = history["transaction_date"].dt.date
        shuffled = shuffled_dates(history, seed=0)
        connection.register("shuffled", shuffled)
        connection.execute("DELETE FROM retail_ml.daily_net_revenue")
        connection.execute("INSERT INTO retail_ml.daily_net_revenue BY NAME SELECT * FROM shuffled")
    result = platform.run_models(LAST_DAY, FORECAST, raise_on_error=False)
    assert not result.success
    gate = check_evaluation(result, GATE_CHECK)
    assert not gate.passed and gate.severity == dg.AssetCheckSeverity.ERROR
    metadata = {k: v.value for k, v in gate.metadata.items()}
    assert metadata["weekly_strength"] < MIN_WEEKLY_STRENGTH
    # Blocking: neither the published forecast nor the mart was rebuilt in this run, and the
    # mart still shows the version that passed; the failed one is kept, for inspection.
    built = {e.asset_key for e in result.get_asset_materialization_events()}
    assert FORECAST_VERSIONS in built and not {SALES_FORECAST, SALES_VS_FORECAST} & built
    after = platform.frame("SELECT DISTINCT model_version FROM retail_marts.sales_vs_forecast")
    assert after.equals(before)
    versions = platform.frame(
        "SELECT model_version, bool_and(passed_gate) AS passed "
        "FROM retail_ml.sales_forecast_versions GROUP BY 1 ORDER BY 1"
    )
    assert versions["passed"].tolist() == [True, False]


def test_a_week_is_too_short_to_judge_and_makes_no_version(week, tmp_path):
    """Seven days cannot be backtested: the run succeeds with no version, the gate warns
    that it judged nothing (a warning blocks nothing), and the mart is empty."""
    platform = week.copy_to(tmp_path)
    last = WEEK_START + timedelta(days=WEEK_DAYS - 1)
    result = platform.run_models(last, [SALES_HISTORY, *FORECAST])
    assert result.success
    gate = check_evaluation(result, GATE_CHECK)
    assert not gate.passed and gate.severity == dg.AssetCheckSeverity.WARN
    assert "needs 56 days" in gate.metadata["not_evaluated"].value
    (event,) = [
        e for e in result.get_asset_materialization_events() if e.asset_key == FORECAST_VERSIONS
    ]
    metadata = event.step_materialization_data.materialization.metadata
    assert "needs 56 days" in metadata["not_evaluated"].value
    # No version: the IO manager writes no table for no rows (or an empty one).
    for table in ("retail_ml.sales_forecast_versions", "retail_ml.sales_forecast"):
        if table in platform.tables("retail_ml"):
            assert platform.query(f"SELECT count(*) FROM {table}") == [(0,)]
    assert platform.query("SELECT count(*) FROM retail_marts.sales_vs_forecast") == [(0,)]
