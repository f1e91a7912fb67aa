"""marts/dashboard rendered from the real marts of the ``months`` platform (120 days, every
layer, churn model trained and scored) and opened in a real headless browser (Debian's
chromium, driven by Playwright; installed with apt-get when missing): no JavaScript
error, no network request, every chart drawn, the headline numbers equal to the
contract's metrics computed straight from the landing files (contract_model.py), and a
screenshot saved under data/."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from retail_platform.defs.dashboard.assets import DASHBOARD, dashboard_assets
from retail_platform.lib.dashboard import MARTS_READ, empty_marts, render_dashboard
from retail_platform.lib.landing_zone import LocalLandingZone
from retail_platform.lib.simulator import SimulationConfig, simulate
from retail_platform.lib.targets import data_dir
from retail_platform.lib.warehouse import DuckDBWarehouse
from retail_platform_tests.helpers.browser import headless_chromium
from retail_platform_tests.helpers.contract_model import ContractModel
from retail_platform_tests.helpers.local_platform import LOCAL

SCREENSHOT = data_dir() / "dashboard" / "screenshot.png"
SECTIONS = ("executive", "sales", "customers", "operations")
CHURN_CHARTS = {"churn-bands", "churn-by-segment", "churn-distribution"}
# What a drawn chart contains: bar/histogram points, scatter lines, pie slices, heatmap
# images, table cells.
CHARTS_JS = """() => Array.from(document.querySelectorAll('.plotly-graph-div')).map(plot => ({
    id: plot.id,
    section: plot.closest('section').id,
    drawn: plot.classList.contains('js-plotly-plot'),
    traces: (plot._fullData || []).length,
    svgs: plot.querySelectorAll('svg.main-svg').length,
    marks: plot.querySelectorAll(
        '.point, .js-line, .slice, .hm image, .table .cell-text').length,
    width: plot.getBoundingClientRect().width,
    height: plot.getBoundingClientRect().height,
}))"""
KPIS_JS = """() => Array.from(document.querySelectorAll('.kpi')).map(kpi =>
    [kpi.dataset.kpi, kpi.dataset.value, kpi.querySelector('.value').textContent])"""
NOTES_JS = """() => Array.from(document.querySelectorAll('.chart.no-data')).map(chart =>
    [chart.dataset.chart, chart.querySelector('.note').textContent])"""


@dataclass
class Opened:
    """What the browser showed."""

    charts: list[dict]
    kpis: dict[str, str]  # data-value
    shown: dict[str, str]  # the text a person reads
    notes: dict[str, str]  # chart -> its "No data yet" note
    problems: list[str]  # JavaScript errors, console errors, network requests


def materialize_dashboard(database: Path, folder: Path) -> dict:
    """The marts/dashboard asset as the pipeline runs it, on ``database``'s marts."""
    result = dg.materialize(
        dashboard_assets(LOCAL),
        resources={"warehouse": DuckDBWarehouse(database=str(database))},
        run_config={"ops": {"marts__dashboard": {"config": {"output_dir": str(folder)}}}},
    )
    assert result.success
    [event] = result.get_asset_materialization_events()
    assert event.asset_key == DASHBOARD
    return {key: value.value for key, value in event.materialization.metadata.items()}


def open_in_browser(path: Path, screenshot: Path | None = None) -> Opened:
    problems: list[str] = []

    def offline(route) -> None:  # the page must need nothing but itself
        problems.append(f"network request: {route.request.url}")
        route.abort()

    with headless_chromium() as browser:
        browser.route("http*://**", offline)
        page = browser.new_page()
        page.on("pageerror", lambda error: problems.append(f"JavaScript error: {error}"))
        page.on(
            "console",
            lambda message: (
                problems.append(f"console.{message.type}: {message.text}")
                if message.type in ("error", "assert")
                else None
            ),
        )
        page.goto(path.as_uri(), wait_until="load")
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('.plotly-graph-div'))"
            ".every(plot => plot.querySelector('svg.main-svg'))",
            timeout=30_000,
        )
        opened = Opened(
            charts=page.evaluate(CHARTS_JS),
            kpis={key: value for key, value, _ in page.evaluate(KPIS_JS)},
            shown={key: text for key, _, text in page.evaluate(KPIS_JS)},
            notes=dict(page.evaluate(NOTES_JS)),
            problems=problems,
        )
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)
    return opened


@pytest.fixture(scope="module")
def rendered(months, tmp_path_factory) -> tuple[dict, Path, Opened]:
    """The dashboard of the months platform, opened once for the tests that read it."""
    metadata = materialize_dashboard(months.database, tmp_path_factory.mktemp("dashboard"))
    path = Path(metadata["dagster/uri"])
    return metadata, path, open_in_browser(path, screenshot=SCREENSHOT)


@pytest.mark.browser
def test_every_chart_is_drawn_in_a_real_browser_with_no_error_and_no_network(rendered):
    metadata, path, opened = rendered
    assert opened.problems == []
    html = path.read_text(encoding="utf-8")
    assert "<script src" not in html  # plotly.js is inlined, not fetched
    assert html.count("Plotly.newPlot(") == metadata["charts"]
    assert metadata["bytes"] == path.stat().st_size
    assert metadata["charts_without_data"] == "none" and opened.notes == {}

    # Four sections, every chart of each drawn with data, at a readable size.
    assert len(opened.charts) == metadata["charts"] >= 20
    assert {chart["section"] for chart in opened.charts} == set(SECTIONS)
    for chart in opened.charts:
        assert chart["drawn"] and chart["svgs"] > 0, chart
        assert chart["traces"] > 0 and chart["marks"] > 0, chart
        assert chart["width"] > 300 and chart["height"] > 200, chart

    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert SCREENSHOT.stat().st_size > 100_000  # a page of charts, not a blank page


@pytest.mark.browser
def test_the_headline_numbers_equal_the_contract_computed_from_the_landing_files(rendered, months):
    metadata, _, opened = rendered
    kpis, shown = opened.kpis, opened.shown
    model = ContractModel(months.landing_root)
    daily = model.daily_sales()
    net_revenue = sum((row["net_revenue"] for row in daily.values()), Decimal(0))
    orders = sum(row["orders"] for row in daily.values())
    sales_net = sum((row["sales_net"] for row in daily.values()), Decimal(0))
    latest = max(day for day, _ in daily)

    def net_between(newest: int, oldest: int) -> Decimal:  # days back from the latest day
        return sum(
            (row["net_revenue"] for (day, _), row in daily.items()
             if newest <= (latest - day).days < oldest),
            Decimal(0),
        )  # fmt: skip

    last_7, previous_7 = net_between(0, 7), net_between(7, 14)
    rfm = model.customer_rfm()

    assert Decimal(kpis["net_revenue"]) == net_revenue > 100_000
    assert shown["net_revenue"] == f"{net_revenue:,.2f}"
    assert float(kpis["orders"]) == orders and shown["orders"] == f"{orders:,}"
    assert float(kpis["customers"]) == len(rfm)  # distinct customers with a sale
    # Per-store AOVs are rounded to the cent, so the weighted mean is within a cent.
    assert abs(Decimal(kpis["avg_order_value"]) - sales_net / orders) <= Decimal("0.01")
    assert Decimal(kpis["net_revenue_last_7_days"]) == last_7
    assert float(kpis["net_revenue_wow_change"]) == pytest.approx(float(last_7 / previous_7 - 1))
    assert float(kpis["items_sold"]) == sum(row["items_sold"] for row in daily.values())
    assert metadata["kpi_net_revenue"] == float(net_revenue)

    repeat = [c for c, row in rfm.items() if row["frequency"] > 1]
    assert float(kpis["repeat_customer_share"]) == pytest.approx(len(repeat) / len(rfm))
    high = months.query(
        "SELECT count(*) FROM retail_ml.churn_scores WHERE churn_risk_band = 'high'"
    )
    assert float(kpis["high_churn_risk_customers"]) == high[0][0] > 0

    stock = model.inventory_alerts()
    assert float(kpis["below_reorder_point"]) == sum(
        r["below_reorder_point"] for r in stock.values()
    )
    carriers = model.shipping_performance().values()
    on_time = sum(c["on_time"] for c in carriers) / sum(c["delivered"] for c in carriers)
    assert float(kpis["on_time_rate"]) == pytest.approx(on_time)
    assert float(kpis["shipments"]) == sum(c["shipments"] for c in carriers)


@pytest.mark.browser
def test_customer_health_without_churn_scores_shows_no_data_yet(months, tmp_path):
    """Before any churn model met its floor, customer_health has no probabilities: the
    churn charts are notes, everything else is still drawn, and nothing fails."""
    database = tmp_path / "warehouse.duckdb"
    shutil.copyfile(months.database, database)
    with duckdb.connect(str(database)) as connection:
        connection.execute("DELETE FROM retail_ml.churn_scores")

    metadata = materialize_dashboard(database, tmp_path / "dashboard")
    assert set(metadata["charts_without_data"].split(", ")) == CHURN_CHARTS
    opened = open_in_browser(Path(metadata["dagster/uri"]))
    assert opened.problems == []
    assert set(opened.notes) == CHURN_CHARTS
    assert all(note.startswith("No data yet: customer_health") for note in opened.notes.values())
    assert len(opened.charts) == metadata["charts"] > 0
    assert all(chart["marks"] > 0 for chart in opened.charts)
    assert (
        opened.kpis["high_churn_risk_customers"] == ""
        and opened.shown["high_churn_risk_customers"] == "–"
    )


def test_a_warehouse_without_rows_gives_a_note_for_every_chart():
    dashboard = render_dashboard(
        empty_marts(), generated_at=datetime.now(UTC), source="an empty warehouse"
    )
    assert dashboard.chart_count == 0 and dashboard.as_of is None
    assert len(dashboard.charts_without_data) == len(dashboard.charts) >= 20
    assert dashboard.html.count("No data yet:") == len(dashboard.charts)
    assert "plotly-graph-div" not in dashboard.html
    assert all(kpi.value is None and kpi.display() == "–" for kpi in dashboard.kpis.values())


def test_the_dashboard_follows_the_marts_and_the_churn_scores_in_every_run(local_zone):
    from retail_platform.definitions import defs

    node = defs.resolve_asset_graph().get(DASHBOARD)
    assert node.group_name == "marts"
    assert {"python", "plotly", "duckdb"} <= node.kinds
    assert node.owners == ["team:data-platform"]
    assert set(node.parent_keys) == {dg.AssetKey(["marts", mart]) for mart in MARTS_READ}
    for job in ("daily_pipeline", "full_backfill", "churn_scoring", "churn_retrain"):
        assert DASHBOARD in defs.resolve_job_def(job).asset_layer.selected_asset_keys

    # A landed file's run (the landing sensor's request) refreshes the dashboard too.
    simulate(local_zone, SimulationConfig(seed=3, orders_per_day=5), start=date(2025, 1, 1), days=1)
    sensor = defs.resolve_sensor_def("landing_sensor")
    with dg.DagsterInstance.ephemeral() as instance:
        settled = LocalLandingZone(root=local_zone.root, settle_seconds=0)  # files are complete
        context = dg.build_sensor_context(instance=instance, resources={"landing_zone": settled})
        [request] = sensor(context).run_requests
    assert DASHBOARD in request.asset_selection
