"""How fresh gold and marts must be.

They are rebuilt every day the sources deliver, so one is late when its newest
materialization is more than a day and a bit old: warning after 25 hours, failing after
26. The UI shows it when the instance evaluates freshness (``freshness: enabled`` in
retail_platform/dagster.yaml).
"""

from datetime import timedelta

import dagster as dg

DAILY = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=26), warn_window=timedelta(hours=25)
)
FRESHNESS_BY_LAYER = {"gold": DAILY, "marts": DAILY}
