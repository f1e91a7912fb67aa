"""The benchmark scripts still run (tiny volumes; their figures are not asserted).

`benchmarks/run.py --quick` runs every benchmark once, in a temporary folder; the tests
below check that each one produced its figures and that they are sane (positive counts,
outputs not empty, runs succeeded), never how long anything took.
"""

from datetime import date, timedelta

import pytest

from benchmarks import run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def figures():
    return run.main(["--quick"])


def test_simulator_and_sensor(figures):
    assert figures["simulator"]["order_lines"] > 0
    assert figures["sensor"]["run requests from that tick"] > 0


def test_backfill_platform_and_baseline(figures):
    backfill = figures["backfill"]
    assert backfill["success"]
    assert backfill["raw_order_lines"] > 0
    assert backfill["rows"]["retail_gold.fact_sales"] > 0
    assert backfill["rows"]["retail_marts.agg_daily_sales"] > 0
    assert all(backfill["layer_seconds"][layer] > 0 for layer in ("raw", "silver_gold", "churn"))
    assert backfill["peak_rss_bytes"] > 0
    assert backfill["duckdb_bytes"] > 0
    assert len(backfill["dbt_invocations"]) >= 2
    assert backfill["baseline_seconds"] > 0
    # the hand-written baseline builds the same silver, gold and mart rows as the platform
    for table, (platform_rows, baseline_rows) in backfill["row_counts_agree"].items():
        assert platform_rows == baseline_rows > 0 or table == "retail_silver.rejects", table


def test_naive_one_run_per_partition(figures):
    naive = figures["naive"]
    assert naive["success"]
    assert len(naive["partition_run_seconds"]) == naive["days"] >= 1
    assert naive["seconds_per_partition"] > 0
    assert naive["single_run_seconds_per_day"] > 0
    assert naive["partition_run_dbt_invocations"] >= 2


def test_daily_incremental(figures):
    daily = figures["daily"]
    assert daily["success"]
    histories = [r["history_days"] for r in daily["by_history"]]
    assert histories == sorted(histories) and len(histories) == 2
    assert daily["repeat"] == run.QUICK_DAILY_REPEAT
    start = date.fromisoformat(daily["start"])
    for result in daily["by_history"]:
        assert result["run_requests"] == 1
        assert result["new_day_files"] > 0
        assert result["sensor_to_marts_seconds"] > 0
        # each repeat lands the next new day after the history and its tick asks for it alone
        repeats = result["repeats"]
        assert len(repeats) == run.QUICK_DAILY_REPEAT
        history = result["history_days"]
        days = [start + timedelta(days=history + i) for i in range(len(repeats))]
        assert [r["new_day"] for r in repeats] == [d.isoformat() for d in days]
        for repeat in repeats:
            assert repeat["run_success"]
            assert repeat["run_requests"] == 1
            assert repeat["new_day_order_lines"] > 0
            assert repeat["sensor_to_marts_seconds"] > 0
        # the reported figures are the median repeat's (lower middle for an even count)
        seconds = [r["sensor_to_marts_seconds"] for r in repeats]
        assert result["sensor_to_marts_seconds_all"] == seconds
        median = sorted(seconds)[(len(seconds) - 1) // 2]
        assert result["sensor_to_marts_seconds"] == median
        (chosen,) = [r for r in repeats if r["new_day"] == result["new_day"]]
        assert chosen["sensor_to_marts_seconds"] == median
        assert chosen["tick_seconds"] == result["tick_seconds"]
        assert chosen["run_seconds"] == result["run_seconds"]
    # both histories are the warehouses the naive run (1 day) and the backfill (4) loaded
    assert daily["by_history"][0]["history_reused_from"] == figures["naive"]["workdir"]
    assert daily["by_history"][-1]["history_reused_from"] == figures["backfill"]["workdir"]
    smallest, largest = daily["by_history"][0], daily["by_history"][-1]
    assert daily["largest_over_smallest"] == pytest.approx(
        largest["sensor_to_marts_seconds"] / smallest["sensor_to_marts_seconds"]
    )


def test_forecast_gate_replay():
    """The gate's replay runs a version per window end and reports on each of them."""
    from benchmarks import forecast_gate

    (shop,) = forecast_gate.main(["--quick"])
    assert shop["windows"] == 3
    assert 0 <= shop["passed_percent"] <= 100
    assert shop["mean_mase"] > 0 and shop["worst_mase"] >= shop["mean_mase"]
    assert sum(shop["failures_by_month"].values()) == round(
        shop["windows"] * (100 - shop["passed_percent"]) / 100
    )
    # the history: every series every day, the total the stores' sum
    history = forecast_gate.daily_history(forecast_gate.SHOPS[0], date(2024, 6, 10))
    per_day = history.pivot(index="transaction_date", columns="store_id", values="net_revenue")
    assert len(per_day) == 10 and not per_day.isna().any().any()
    stores = per_day.drop(columns=forecast_gate.TOTAL)
    assert (stores.sum(axis=1) - per_day[forecast_gate.TOTAL]).abs().max() < 1e-6
    assert per_day[forecast_gate.TOTAL].min() > 0
