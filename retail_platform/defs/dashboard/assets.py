"""``marts/dashboard``: the marts rendered as one self-contained HTML page.

It reads the marts through the ``warehouse`` resource (DuckDB or BigQuery, the same
queries), renders them with plotly (``retail_platform/lib/dashboard``) and writes
``index.html`` into ``RETAIL_DASHBOARD_DIR`` (default ``data/dashboard/``) or the run
config's ``output_dir``. The page inlines plotly.js, so it opens from disk with no network.
"""

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
from pydantic import Field

from retail_platform.defs.freshness import DAILY
from retail_platform.lib.dashboard import (
    MARTS_READ,
    load_marts,
    render_dashboard,
    write_dashboard,
)
from retail_platform.lib.targets import WAREHOUSE_POOL, Target, dashboard_dir
from retail_platform.lib.warehouse import Warehouse

DASHBOARD = dg.AssetKey(["marts", "dashboard"])
OWNERS = ["team:data-platform"]
#: KPIs copied onto the materialization, to compare runs in the UI.
HEADLINE_KPIS = ("net_revenue", "orders", "customers", "avg_order_value")


class DashboardConfig(dg.Config):
    output_dir: str = Field(
        default="",
        description="Folder for index.html; empty: RETAIL_DASHBOARD_DIR (default data/dashboard).",
    )


def dashboard_assets(target: Target) -> list[dg.AssetsDefinition]:
    @dg.asset(
        key=DASHBOARD,
        deps=[dg.AssetKey(["marts", mart]) for mart in MARTS_READ],
        group_name="marts",
        freshness_policy=DAILY,
        pool=WAREHOUSE_POOL,  # reads the DuckDB file: never while dbt writes it
        kinds={"python", "plotly", target.warehouse_kind},
        owners=OWNERS,
        description=(
            "The retail dashboard: one self-contained HTML file (plotly.js inlined, opens "
            "with no network) rendered from the marts, in four sections: executive "
            "summary (revenue, orders, customers, AOV over time, week over week, by region "
            "and store, net revenue against the sales forecast and its interval), sales "
            "analytics (top products, categories per month, top cities, "
            "employees, discount depth against revenue and margin, payment mix), customer "
            "insights (value tiers, repeat vs one-time buyers, top customers, RFM segments, "
            "churn risk) and inventory & shipping (stock alerts, days of cover, carrier "
            "delays and damage). Money in dollars with thousands separators (big figures as "
            "$3.98 M), shares of the total on every part, one 'data as of' badge (the latest "
            "day with sales). Also the end of the dbt exposure retail_dashboard "
            "(sql/models/exposures.yml). Written to RETAIL_DASHBOARD_DIR (default "
            "data/dashboard/index.html); the materialization links to the file. A mart "
            "without rows yet, or not built yet (a once-a-day mart before its first run), shows "
            "a 'No data yet' note in place of its charts."
        ),
    )
    def dashboard(
        context: dg.AssetExecutionContext, config: DashboardConfig, warehouse: Warehouse
    ) -> dg.MaterializeResult:
        marts = load_marts(warehouse)
        rendered = render_dashboard(
            marts,
            generated_at=datetime.now(UTC),
            source=f"retail_marts on {target.warehouse_kind}",
        )
        path = write_dashboard(rendered, Path(config.output_dir or dashboard_dir()).resolve())
        empty = rendered.charts_without_data
        if empty:
            context.log.warning(f"charts without data yet: {', '.join(empty)}")
        if marts.not_built:
            context.log.warning(f"marts not built yet: {', '.join(marts.not_built)}")
        context.log.info(f"dashboard written to {path} ({rendered.chart_count} charts)")
        kpis = rendered.kpis
        return dg.MaterializeResult(
            metadata={
                "dagster/uri": dg.MetadataValue.path(str(path)),
                "open in a browser": dg.MetadataValue.url(path.as_uri()),
                "charts": rendered.chart_count,
                "charts_without_data": dg.MetadataValue.text(", ".join(empty) or "none"),
                "marts_not_built_yet": dg.MetadataValue.text(", ".join(marts.not_built) or "none"),
                "bytes": path.stat().st_size,
                "sales_to": dg.MetadataValue.text(rendered.as_of or "no sales yet"),
                "mart_rows": dg.MetadataValue.json(marts.rows()),
                **{
                    f"kpi_{key}": kpis[key].value
                    for key in HEADLINE_KPIS
                    if kpis[key].value is not None
                },
            }
        )

    return [dashboard]
