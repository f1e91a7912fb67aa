"""Python checks where a dbt test cannot say it: rows and revenue reconcile across layers.

Each check reads a reconciliation table (built by dbt for the window's days, in the same
run: silver/reconciliation, gold/revenue_reconciliation) for the run's partition window,
or for every day when the run has no window, and fails with the offending days in its
metadata. A check that fails also fails its run (after recording the result): numbers that
do not add up are never a green run. (They cannot be Dagster-blocking checks: the checked
asset and what is built from it are one dbt step, so blocking would make the step wait for
its own check.)
"""

from datetime import date, timedelta

import dagster as dg

from retail_platform.lib.entities import FACT_ENTITIES
from retail_platform.lib.targets import WAREHOUSE_POOL
from retail_platform.lib.warehouse import Warehouse

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
PARTITION = "dagster/partition"


def run_window(tags: dict[str, str]) -> tuple[date, date]:
    """The run's partition window [start, end); all time when the run has none."""
    if RANGE_START in tags:
        start, last = tags[RANGE_START], tags[RANGE_END]
    elif PARTITION in tags:
        start = last = tags[PARTITION]
    else:
        return date(1900, 1, 1), date(2999, 1, 1)
    return date.fromisoformat(start), date.fromisoformat(last) + timedelta(days=1)


def raise_for(problem: str, by_day: dict) -> None:
    """Fail the check's step, and so the run, once the failed result is recorded."""
    days = ", ".join(sorted(by_day)[:5]) + (" ..." if len(by_day) > 5 else "")
    raise dg.Failure(
        description=f"{problem} ({days}); see the check's metadata and docs/operations.md.",
        metadata={"by_day": dg.MetadataValue.json(by_day)},
    )


def _rows_reconcile_check(entity: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(["silver", entity]),
        name="rows_reconcile_with_raw",
        additional_deps=[dg.AssetKey(["silver", "reconciliation"])],
        pool=WAREHOUSE_POOL,
        description=(
            f"Every raw {entity} row of the window is in silver, in silver/rejects, or a version "
            "superseded by the one silver keeps on any day (raw = silver + rejects + "
            "superseded). The run fails when a row is unexplained."
        ),
    )
    def rows_reconcile_with_raw(context: dg.AssetCheckExecutionContext, warehouse: Warehouse):
        start, end = run_window(context.run.tags)
        rows = warehouse.query(
            "SELECT transaction_date, raw_rows, silver_rows, rejected_rows, duplicates_removed, "
            "unexplained_rows FROM retail_silver.reconciliation "
            "WHERE entity = ? AND transaction_date >= ? AND transaction_date < ? "
            "ORDER BY transaction_date",
            [entity, start, end],
        )
        totals = [sum(int(r[i]) for r in rows) for i in range(1, 6)]
        off = {str(r[0]): int(r[5]) for r in rows if r[5] != 0}
        yield dg.AssetCheckResult(
            passed=not off,
            metadata={
                "days": len(rows),
                "raw_rows": totals[0],
                "silver_rows": totals[1],
                "rejected_rows": totals[2],
                "duplicates_removed": totals[3],
                "unexplained_rows_by_day": dg.MetadataValue.json(off),
            },
        )
        if off:
            raise_for(f"silver/{entity}: raw rows unexplained by silver, rejects or superseded "
                      f"versions on {len(off)} day(s)", off)  # fmt: skip

    return rows_reconcile_with_raw


@dg.asset_check(
    asset=dg.AssetKey(["gold", "fact_sales"]),
    name="revenue_matches_silver",
    additional_deps=[dg.AssetKey(["gold", "revenue_reconciliation"])],
    pool=WAREHOUSE_POOL,
    description="Net and gross revenue per day in gold/fact_sales equal the same sums from silver.",
)
def revenue_matches_silver(context: dg.AssetCheckExecutionContext, warehouse: Warehouse):
    start, end = run_window(context.run.tags)
    rows = warehouse.query(
        "SELECT transaction_date, gold_net_revenue, net_difference, gross_difference "
        "FROM retail_gold.revenue_reconciliation "
        "WHERE transaction_date >= ? AND transaction_date < ? ORDER BY transaction_date",
        [start, end],
    )
    off = {
        str(r[0]): {"net": str(r[2]), "gross": str(r[3])} for r in rows if r[2] != 0 or r[3] != 0
    }
    yield dg.AssetCheckResult(
        passed=not off,
        metadata={
            "days": len(rows),
            "gold_net_revenue": float(sum(r[1] for r in rows)),
            "differences_by_day": dg.MetadataValue.json(off),
        },
    )
    if off:
        raise_for(f"gold/fact_sales: revenue differs from silver on {len(off)} day(s)", off)


reconciliation_checks = [*(_rows_reconcile_check(e) for e in FACT_ENTITIES), revenue_matches_silver]
