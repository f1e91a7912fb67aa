"""The alert sensors (defs/alerts.py) on real Dagster runs in the local instance (SQLite,
retail_platform/dagster.yaml, as `make dev` has it), posting to a real HTTP server on
127.0.0.1: what a failed run, a failed ERROR check and a late asset send, that nothing is sent
without RETAIL_ALERT_WEBHOOK_URL, and that a refused post fails the tick without showing the
URL. The Postgres instance runs them in test_production_topology.py."""

from __future__ import annotations

import dagster as dg
import pytest

# Private: the event the freshness daemon reports (dagster/_daemon/freshness.py); no public
# constructor exists. Reported here exactly as the daemon reports it.
from dagster._core.definitions.freshness import FreshnessState, FreshnessStateChange

from retail_platform.defs.alerts import check_failure_alert, freshness_alert, run_failure_alert
from retail_platform.instance import INSTANCE_TEMPLATE
from retail_platform.settings import WEBHOOK_ENV
from retail_platform_tests.helpers.webhook_receiver import WebhookReceiver

DAYS = dg.DailyPartitionsDefinition(start_date="2025-01-01")
RANGE = {
    "dagster/asset_partition_range_start": "2025-01-02",
    "dagster/asset_partition_range_end": "2025-01-04",
}
UI = "http://dagster.example.internal:3000"


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
def loaded() -> None:
    pass


@dg.asset_check(asset=loaded, blocking=False)
def rows_match() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        description="3 rows missing between raw and silver\n(details in metadata)",
    )


@dg.asset_check(asset=loaded, blocking=False)
def few_duplicates() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN)


@dg.asset(deps=[loaded], partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
def broken() -> None:
    raise dg.Failure(description="The DuckDB warehouse is locked by process 4242\nmore detail")


@pytest.fixture
def local_instance(tmp_path, monkeypatch):
    """A fresh local instance: our dagster.yaml in its own DAGSTER_HOME."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(INSTANCE_TEMPLATE.read_text())
    monkeypatch.setenv("DAGSTER_HOME", str(home))

    def open_instance() -> dg.DagsterInstance:
        return dg.DagsterInstance.from_config(str(home))

    return open_instance


@pytest.fixture
def receiver(monkeypatch):
    server = WebhookReceiver()
    monkeypatch.setenv(WEBHOOK_ENV, server.url)
    monkeypatch.setenv("DAGSTER_WEBSERVER_URL", UI + "/")
    yield server
    server.stop()


def tick(sensor: dg.SensorDefinition, instance: dg.DagsterInstance, cursor: str | None):
    """One evaluation as the daemon runs it: the cursor in, the tick's data out."""
    return sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=cursor))


def started(sensor: dg.SensorDefinition, instance: dg.DagsterInstance) -> str:
    """A sensor's first tick only places its cursor (at the newest event): nothing before the
    sensor started is alerted."""
    first = tick(sensor, instance, None)
    assert first.cursor
    return first.cursor


def failing_range_run(instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    result = dg.materialize(
        [loaded, broken, rows_match, few_duplicates],
        instance=instance,
        tags=RANGE,
        raise_on_error=False,
    )
    assert not result.success
    return result


def test_a_failed_run_posts_its_id_link_partitions_failed_step_and_error_checks(
    local_instance, receiver
):
    with local_instance() as instance:
        cursor = started(run_failure_alert, instance)
        run_id = failing_range_run(instance).run_id

        data = tick(run_failure_alert, instance, cursor)

    assert [r.error for r in data.dagster_run_reactions] == [None]
    assert len(receiver.received) == 1
    text = receiver.received[0]["text"]
    assert run_id in text
    assert f"{UI}/runs/{run_id}" in text
    assert "partitions 2025-01-02 to 2025-01-04" in text
    assert "Dagster run failed: assets (no job), partitions" in text
    # The failed step with the first line of the user's error, not Dagster's wrapper.
    assert "• broken: The DuckDB warehouse is locked by process 4242" in text
    assert "more detail" not in text
    # The ERROR check, with the first line of its description; the WARN check is not listed.
    assert "• loaded:rows_match: 3 rows missing between raw and silver" in text
    assert "few_duplicates" not in text


def test_without_the_variable_nothing_is_sent_and_the_tick_says_why(
    local_instance, receiver, monkeypatch
):
    monkeypatch.delenv(WEBHOOK_ENV)
    with local_instance() as instance:
        cursor = started(run_failure_alert, instance)
        run_id = failing_range_run(instance).run_id

        data = tick(run_failure_alert, instance, cursor)

    assert receiver.received == []
    assert data.skip_message == f"{WEBHOOK_ENV} is not set: no alert sent for failed run {run_id}"


def test_a_refused_post_fails_the_tick_and_never_shows_the_url(local_instance, receiver):
    receiver.status = 500
    with local_instance() as instance:
        cursor = started(run_failure_alert, instance)
        run_id = failing_range_run(instance).run_id

        data = tick(run_failure_alert, instance, cursor)

    [reaction] = data.dagster_run_reactions
    assert reaction.error is not None, "the tick must show that the alert was not sent"
    shown = reaction.error.to_string()
    assert f"alert for failed run {run_id} not sent: the alert webhook answered HTTP 500" in shown
    assert receiver.url not in shown
    assert "not-a-real-secret" not in shown
    assert len(receiver.received) == 1  # it was tried once


def test_an_unreachable_webhook_fails_the_tick(local_instance, receiver):
    receiver.stop()  # nothing listens on that port any more
    with local_instance() as instance:
        cursor = started(run_failure_alert, instance)
        failing_range_run(instance)

        data = tick(run_failure_alert, instance, cursor)

    [reaction] = data.dagster_run_reactions
    assert "cannot reach the alert webhook" in reaction.error.to_string()
    assert "not-a-real-secret" not in reaction.error.to_string()


def test_a_run_that_succeeds_with_a_failed_error_check_is_alerted(local_instance, receiver):
    with local_instance() as instance:
        cursor = started(check_failure_alert, instance)
        clean = dg.materialize([loaded], instance=instance, partition_key="2025-01-05")
        result = dg.materialize(
            [loaded, rows_match, few_duplicates], instance=instance, partition_key="2025-01-06"
        )
        assert clean.success and result.success

        data = tick(check_failure_alert, instance, cursor)

    assert data.dagster_run_reactions and all(r.error is None for r in data.dagster_run_reactions)
    # One alert: the run without failed checks says nothing; the WARN check is not listed.
    assert len(receiver.received) == 1
    text = receiver.received[0]["text"]
    assert result.run_id in text and f"{UI}/runs/{result.run_id}" in text
    assert "partition 2025-01-06" in text
    assert "• loaded:rows_match: 3 rows missing between raw and silver" in text
    assert "few_duplicates" not in text
    assert clean.run_id not in text


def report_freshness(instance: dg.DagsterInstance, key: str, old, new) -> None:
    instance.report_runless_asset_event(
        FreshnessStateChange(
            key=dg.AssetKey(["marts", key]),
            previous_state=old,
            new_state=new,
            state_change_timestamp=0.0,
        )
    )


def test_a_late_asset_is_alerted_once_and_its_recovery_too(local_instance, receiver):
    with local_instance() as instance:
        report_freshness(instance, "payment_mix", FreshnessState.PASS, FreshnessState.WARN)
        cursor = started(freshness_alert, instance)  # the change before it started: not sent
        report_freshness(instance, "agg_daily_sales", FreshnessState.PASS, FreshnessState.WARN)
        report_freshness(instance, "agg_daily_sales", FreshnessState.WARN, FreshnessState.FAIL)
        report_freshness(
            instance, "top_products_monthly", FreshnessState.UNKNOWN, FreshnessState.PASS
        )

        first = tick(freshness_alert, instance, cursor)
        again = tick(freshness_alert, instance, first.cursor)
        report_freshness(instance, "agg_daily_sales", FreshnessState.FAIL, FreshnessState.PASS)
        recovered = tick(freshness_alert, instance, again.cursor)

    assert first.skip_message == "alert sent for 2 freshness change(s)"
    assert again.skip_message == "no freshness change"
    assert len(receiver.received) == 2
    late, back = receiver.texts()
    assert "• marts/agg_daily_sales: PASS → WARN" in late
    assert "• marts/agg_daily_sales: WARN → FAIL" in late
    assert "payment_mix" not in late and "top_products_monthly" not in late
    assert "• marts/agg_daily_sales: FAIL → PASS" in back
    assert recovered.skip_message == "alert sent for 1 freshness change(s)"


def test_a_refused_freshness_alert_keeps_the_cursor_for_the_next_tick(local_instance, receiver):
    receiver.status = 503
    with local_instance() as instance:
        cursor = started(freshness_alert, instance)
        report_freshness(instance, "agg_daily_sales", FreshnessState.PASS, FreshnessState.FAIL)
        with pytest.raises(Exception, match="answered HTTP 503") as failed:
            tick(freshness_alert, instance, cursor)
        assert "not-a-real-secret" not in str(failed.value)
        receiver.status = 200
        retried = tick(freshness_alert, instance, cursor)  # the daemon kept the old cursor

    assert retried.skip_message == "alert sent for 1 freshness change(s)"
    assert "marts/agg_daily_sales: PASS → FAIL" in receiver.texts()[-1]
