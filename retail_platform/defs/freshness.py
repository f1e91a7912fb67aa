"""How fresh gold and marts must be.

They are rebuilt every day the sources deliver, so one is late when its newest
materialization is more than a day and a bit old: warning after 25 hours, failing after
26. The UI shows it when the instance evaluates freshness (``freshness: enabled`` in
retail_platform/dagster.yaml).

raw/orders has a check instead: yesterday's partition loaded by a set hour, UTC.
"""

from datetime import UTC, date, datetime, time, timedelta

import dagster as dg

from retail_platform.lib.partitions import transaction_date_partitions
from retail_platform.lib.targets import WAREHOUSE_POOL
from retail_platform.patches.dagster_private import get_current_datetime
from retail_platform.settings import DEADLINE_HOUR_ENV, DEFAULT_DEADLINE_HOUR, settings

DAILY = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=26), warn_window=timedelta(hours=25)
)
FRESHNESS_BY_LAYER = {"gold": DAILY, "marts": DAILY}


# A late partition: yesterday's raw/orders partition must have been loaded by a set hour
# (UTC) today. dg.build_time_partition_freshness_checks cannot say this here: it expects
# the partition window that contains its deadline, and our partitions include today
# (end_offset=1, lib/partitions.py), so at 06:00 on day D it would ask for D itself, not
# D-1. The check below asks for D-1 from the deadline hour on (before it, D-2), and runs
# after every load of raw/orders (it is a check of that asset) and on its own schedule.
RAW_ORDERS = dg.AssetKey(["raw", "orders"])


def orders_deadline_hour() -> int:
    """The hour (UTC, 0-23) by which yesterday's orders must have loaded."""
    return settings().orders_deadline_hour_utc


def expected_day(now: datetime, hour: int) -> date:
    """The newest day whose partition must be loaded at ``now``: yesterday from ``hour``
    (UTC) on, the day before before it."""
    now = now.astimezone(UTC)
    return now.date() - timedelta(days=1 if now.hour >= hour else 2)


@dg.asset_check(
    asset=RAW_ORDERS,
    name="yesterday_loaded_by_deadline",
    # It reads only the instance; the pool keeps every step of the jobs in one queue
    # (test_definitions.py).
    pool=WAREHOUSE_POOL,
    description=(
        "Yesterday's raw/orders partition was loaded by the deadline hour (UTC, "
        f"{DEADLINE_HOUR_ENV}, default {DEFAULT_DEADLINE_HOUR:02d}:00). Warn: look for missing "
        "or quarantined orders files and a stopped landing_sensor (docs/operations.md)."
    ),
)
def orders_on_time(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    hour = orders_deadline_hour()
    now = get_current_datetime()
    day = expected_day(now, hour)
    first = transaction_date_partitions.start.date()
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=RAW_ORDERS, asset_partitions=[day.isoformat()]), limit=1
    ).records
    passed = day < first or bool(records)
    deadline = datetime.combine(day + timedelta(days=1), time(hour), tzinfo=UTC)
    metadata = {
        "expected_partition": day.isoformat(),
        "deadline": dg.MetadataValue.timestamp(deadline),
    }
    if records:
        metadata["loaded_at"] = dg.MetadataValue.timestamp(records[0].timestamp)
    late = f"raw/orders {day} was not loaded by {deadline:%Y-%m-%d %H:%M} UTC"
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=None if passed else late,
        metadata=metadata,
    )


orders_freshness_job = dg.define_asset_job(
    "raw_orders_freshness", selection=dg.AssetSelection.checks(orders_on_time)
)


def orders_freshness_schedule() -> dg.ScheduleDefinition:
    """Evaluates the check at the deadline hour each day (UTC); loads re-evaluate it too."""
    return dg.ScheduleDefinition(
        name="raw_orders_freshness_daily",
        job=orders_freshness_job,
        cron_schedule=f"1 {orders_deadline_hour()} * * *",
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
