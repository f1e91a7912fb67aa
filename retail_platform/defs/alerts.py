"""Alerts to a Slack-compatible webhook: failed runs, failed ERROR checks, late assets.

Three sensors, always registered and RUNNING by default; each reads
``RETAIL_ALERT_WEBHOOK_URL`` when it evaluates (in the code server's process) and, when it
is unset, skips with that reason (the tick says so in the UI) instead of posting:

* ``run_failure_alert``: every failed run of this code location (the landing sensor's runs,
  schedules, backfills, runs launched from the UI): job, partition(s), the failed steps with
  the first line of each error, the failed ERROR checks, the link to the run.
* ``check_failure_alert``: a run that *succeeded* but recorded failed checks of severity
  ERROR (a non-blocking check); a failed run's checks are in its run failure alert already.
  WARN checks never alert (raw's duplicate check warns by design).
* ``freshness_alert``: a gold or mart asset whose freshness policy (defs/freshness.py) turned
  WARN or FAIL, or recovered; the daemon evaluates freshness when the instance enables it.

A webhook that refuses an alert (or cannot be reached within 10 s) fails the tick with
"alert ... not sent: <why>" (never the URL): the run status sensors then move on to the
next run (the failure is on the tick), the freshness sensor keeps its cursor and tries again
next tick.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

import dagster as dg

from retail_platform.lib.alert_webhook import AlertNotSent, post_alert, run_link, webhook_url
from retail_platform.settings import WEBHOOK_ENV

MINIMUM_INTERVAL_SECONDS = 30
MAX_LINES = 15  # per list in one alert; the rest is "and N more"
MAX_LINE_CHARS = 300
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
ORIGIN_TAGS = {
    "dagster/sensor_name": "sensor",
    "dagster/schedule_name": "schedule",
    "dagster/backfill": "backfill",
}
LATE_STATES = {"WARN", "FAIL"}


def first_line(text: str | None) -> str:
    line = next((part.strip() for part in (text or "").splitlines() if part.strip()), "")
    return line if len(line) <= MAX_LINE_CHARS else line[: MAX_LINE_CHARS - 1] + "…"


def bounded(lines: Sequence[str]) -> list[str]:
    if len(lines) <= MAX_LINES:
        return list(lines)
    return [*lines[:MAX_LINES], f"• … and {len(lines) - MAX_LINES} more"]


def partitions_of(run: dg.DagsterRun) -> str:
    """The run's partition(s), from its tags: one day, a range, or none."""
    tags = run.tags
    if tags.get(RANGE_START):
        return f"partitions {tags[RANGE_START]} to {tags.get(RANGE_END, '?')}"
    if tags.get("dagster/partition"):
        return f"partition {tags['dagster/partition']}"
    return "no partition"


def run_heading(run: dg.DagsterRun) -> str:
    origin = [f"{label} {run.tags[tag]}" for tag, label in ORIGIN_TAGS.items() if tag in run.tags]
    retry = run.tags.get("dagster/retry_number")
    if retry:
        origin.append(f"retry {retry}")
    launched = f", launched by {', '.join(origin)}" if origin else ""
    # `__ASSET_JOB` & co: assets materialized from the UI (or in a test) outside any job.
    job = "assets (no job)" if run.job_name.startswith("__") else f"job {run.job_name}"
    return f"{job}, {partitions_of(run)}{launched}"


def error_line(error: object) -> str:
    """The first line of the innermost cause of a step's error (the user's exception, not a
    wrapper around it), its class without the module path: "IOException: Could not set lock"."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return re.sub(r"^(?:[\w]+\.)+(\w+: )", r"\1", first_line(getattr(error, "message", "")))


def failed_steps(context: dg.RunFailureSensorContext) -> list[str]:
    lines = []
    for event in context.get_step_failure_events():
        data = event.step_failure_data
        if data.user_failure_data and data.user_failure_data.description:  # a dg.Failure
            why = first_line(data.user_failure_data.description)
        else:
            why = error_line(data.error) if data.error else "no error recorded"
        lines.append(f"• {event.step_key}: {why}")
    return lines


def failed_error_checks(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """Failed checks of severity ERROR in the run, one line per check with its partitions."""
    partitions: dict[str, list[str]] = defaultdict(list)
    descriptions: dict[str, str] = {}
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = entry.dagster_event.asset_check_evaluation_data
        if evaluation.passed or evaluation.severity != dg.AssetCheckSeverity.ERROR:
            continue
        name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
        if evaluation.partition:
            partitions[name].append(evaluation.partition)
        else:
            partitions.setdefault(name, [])
        if evaluation.description:
            descriptions.setdefault(name, first_line(evaluation.description))
    lines = []
    for name, keys in partitions.items():
        where = f" ({', '.join(sorted(set(keys))[:5])}{', …' if len(set(keys)) > 5 else ''})"
        detail = f": {descriptions[name]}" if name in descriptions else ""
        lines.append(f"• {name}{where if keys else ''}{detail}")
    return lines


def run_failure_text(context: dg.RunFailureSensorContext) -> str:
    run = context.dagster_run
    steps = failed_steps(context)
    checks = failed_error_checks(context.instance, run.run_id)
    lines = [
        f":red_circle: Dagster run failed: {run_heading(run)}",
        f"Run {run.run_id}: {run_link(run.run_id)}",
    ]
    if steps:
        lines += ["Failed steps:", *bounded(steps)]
    else:  # the run failed outside any step: its process died, a launch or config error
        lines.append(f"Why: {first_line(context.failure_event.message)}")
    if checks:
        lines += ["Failed checks (severity ERROR):", *bounded(checks)]
    return "\n".join(lines)


def _send(
    context: dg.RunStatusSensorContext | dg.SensorEvaluationContext, what: str, text: str
) -> dg.SkipReason | None:
    """Post ``text``; a skip reason when alerting is off; raise (after logging) when the
    webhook did not take it."""
    url = webhook_url()
    if url is None:
        return dg.SkipReason(f"{WEBHOOK_ENV} is not set: no alert sent for {what}")
    try:
        post_alert(url, text)
    except AlertNotSent as error:
        context.log.error(f"alert for {what} not sent: {error}")
        raise AlertNotSent(f"alert for {what} not sent: {error}") from None
    context.log.info(f"alert sent for {what}")
    return None


@dg.run_failure_sensor(
    name="run_failure_alert",
    minimum_interval_seconds=MINIMUM_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        f"Posts every failed run of this code location to {WEBHOOK_ENV} (job, partitions, "
        "failed steps and checks, link). Skips when the variable is unset."
    ),
)
def run_failure_alert(context: dg.RunFailureSensorContext) -> dg.SkipReason | None:
    run = context.dagster_run
    # None (sent) lets the sensor go on to the next failed run in the same tick.
    return _send(context, f"failed run {run.run_id}", run_failure_text(context))


@dg.run_status_sensor(
    name="check_failure_alert",
    run_status=dg.DagsterRunStatus.SUCCESS,
    minimum_interval_seconds=MINIMUM_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        f"Posts a run that succeeded with failed ERROR checks to {WEBHOOK_ENV} (failed runs "
        "carry their checks in run_failure_alert). Skips when the variable is unset."
    ),
)
def check_failure_alert(context: dg.RunStatusSensorContext) -> dg.SkipReason | None:
    run = context.dagster_run
    checks = failed_error_checks(context.instance, run.run_id)
    if not checks:
        return None  # nothing to say; the sensor goes on to the next run
    text = "\n".join(
        [
            f":large_orange_circle: Dagster checks failed (severity ERROR): {run_heading(run)}; "
            "the run succeeded",
            f"Run {run.run_id}: {run_link(run.run_id)}",
            "Failed checks:",
            *bounded(checks),
        ]
    )
    return _send(context, f"{len(checks)} failed check(s) of run {run.run_id}", text)


FRESHNESS_BATCH = 200


@dg.sensor(
    name="freshness_alert",
    minimum_interval_seconds=MINIMUM_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        f"Posts gold and mart assets whose freshness turned WARN or FAIL (or recovered) to "
        f"{WEBHOOK_ENV}. Skips when the variable is unset."
    ),
)
def freshness_alert(context: dg.SensorEvaluationContext) -> dg.SkipReason | None:
    # The storage's event query (the instance's own `get_event_records` is deprecated, and
    # freshness state changes have no `fetch_*` method): by storage id, which is global for
    # asset events on SQLite and Postgres alike.
    storage = context.instance.event_log_storage
    change = dg.DagsterEventType.FRESHNESS_STATE_CHANGE
    if context.cursor is None:  # first tick: alert on what changes from now on
        latest = storage.get_event_records(dg.EventRecordsFilter(change), limit=1)
        context.update_cursor(str(latest[0].storage_id if latest else 0))
        return dg.SkipReason("watching freshness changes from now on")
    records = storage.get_event_records(
        dg.EventRecordsFilter(change, after_cursor=int(context.cursor)),
        limit=FRESHNESS_BATCH,
        ascending=True,
    )
    if not records:
        return dg.SkipReason("no freshness change")
    lines = []
    for record in records:
        state = record.event_log_entry.dagster_event.event_specific_data
        new, old = state.new_state.value, state.previous_state.value
        if new in LATE_STATES or (new == "PASS" and old in LATE_STATES):
            lines.append(f"• {state.key.to_user_string()}: {old} → {new}")
    result = dg.SkipReason(f"{len(records)} freshness change(s), none late or recovered")
    if lines:
        text = "\n".join(
            [
                ":hourglass: Dagster freshness: an asset is late (WARN: 25 h, FAIL: 26 h since "
                "its last materialization) or back on time",
                *bounded(lines),
                "Look for a failed or missing daily_pipeline run, a quarantined file or a "
                "stopped landing_sensor (docs/operations.md).",
            ]
        )
        # On a failed post this raises before the cursor moves: the next tick tries again.
        what = f"{len(lines)} freshness change(s)"
        result = _send(context, what, text) or dg.SkipReason(f"alert sent for {what}")
    context.update_cursor(str(records[-1].storage_id))
    return result


alert_sensors = [run_failure_alert, check_failure_alert, freshness_alert]
