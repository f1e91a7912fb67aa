"""marts/dashboard rendered from the real marts of the ``months`` platform (120 days, every
layer, churn model trained and scored, then a sales forecast made and published) and opened
in a real headless browser (Debian's chromium, driven by Playwright; installed with apt-get
when missing): no JavaScript
error, no network request, every chart drawn, the headline numbers equal to the
contract's metrics computed straight from the landing files (contract_model.py), and a
screenshot saved under data/."""

from __future__ import annotations

import json
import math
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from retail_platform.defs.dashboard.assets import DASHBOARD, dashboard_assets
from retail_platform.defs.ml.forecast import (
    FORECAST_VERSIONS,
    SALES_FORECAST,
    SALES_HISTORY,
    SALES_VS_FORECAST,
)
from retail_platform.defs.ml.recommendations import (
    PRODUCT_RECOMMENDATIONS,
    RECOMMENDED_PRODUCTS,
)
from retail_platform.defs.transforms.project import built_manifest
from retail_platform.lib.dashboard import MARTS_READ, empty_marts, load_marts, render_dashboard
from retail_platform.lib.dashboard import format as fmt
from retail_platform.lib.landing_zone import LocalLandingZone
from retail_platform.lib.simulator import SimulationConfig, simulate
from retail_platform.lib.targets import data_dir
from retail_platform.lib.warehouse import DuckDBWarehouse
from retail_platform_tests.helpers.browser import headless_chromium
from retail_platform_tests.helpers.contract_model import ContractModel
from retail_platform_tests.helpers.local_platform import LOCAL, LocalPlatform

SCREENSHOT = data_dir() / "dashboard" / "screenshot.png"
SECTIONS = ("executive", "sales", "customers", "operations")
CHURN_CHARTS = {"churn-bands", "churn-by-segment", "churn-distribution"}
FORECAST_CHART = "revenue-vs-forecast"
RECOMMENDED_CHART = "recommended-products"
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
    axes: Object.fromEntries(['xtick', 'ytick', 'y2tick'].map(axis => [axis,
        Array.from(plot.querySelectorAll(`g.${axis} text`)).map(tick => tick.textContent)])),
}))"""
KPIS_JS = """() => Array.from(document.querySelectorAll('.kpi')).map(kpi =>
    [kpi.dataset.kpi, kpi.dataset.value, kpi.querySelector('.value').textContent])"""
NOTES_JS = """() => Array.from(document.querySelectorAll('.chart.no-data')).map(chart =>
    [chart.dataset.chart, chart.querySelector('.note').textContent])"""
BADGES_JS = """() => Array.from(document.querySelectorAll('.as-of')).map(badge =>
    [badge.dataset.asOf, badge.textContent])"""
# The charts whose value axis is money; their ticks read "$500 k", "$1.5 M".
MONEY_AXES = {"revenue-per-day", FORECAST_CHART, "orders-customers-aov", "revenue-by-region",
              "revenue-by-store", "top-products", "categories", "top-cities", "top-employees",
              "discount-bands", "discounts"}  # fmt: skip
# A numeric tick label: "$1.5 M", "12,000", "2.5%", "0.25" (dates and names do not match).
NUMBER_TICK = re.compile(r"^(-)?\$?([\d,]*\.?\d+) ?([kMB])?(%)?$")
SCALE = {None: 1, "k": 1e3, "M": 1e6, "B": 1e9}
# A round money tick: at most 3 significant digits, a currency, a unit from a thousand up.
MONEY_TICK = re.compile(r"^-?\$(0|[1-9]\d{0,2}|\d\.\d{1,2}|\d\d\.\d)( [kMB])?$")
# What a store manager should not have to read: table, tool and engineering names.
ENGINEERING = re.compile(r"agg_|_sales|retail_marts|fact_|dim_|\bdbt\b|\bmart|NTILE|percent_rank")


@dataclass
class Opened:
    """What the browser showed."""

    charts: list[dict]
    kpis: dict[str, str]  # data-value
    shown: dict[str, str]  # the text a person reads
    notes: dict[str, str]  # chart -> its "No data yet" note
    badges: list[list[str]]  # the "data as of" badges: [YYYY-MM-DD, text]
    text: str  # the page's visible text (body.innerText, without the charts' SVG)
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
            badges=page.evaluate(BADGES_JS),
            text=page.evaluate("() => document.body.innerText"),
            problems=problems,
        )
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)
    return opened


@pytest.fixture(scope="module")
def forecasted(months, tmp_path_factory) -> LocalPlatform:
    """The months platform with a sales forecast and product recommendations made, passed
    their gates and published (the forecast_retrain and recommendations_retrain jobs'
    assets, as test_forecast and test_recommendations run them)."""
    platform = months.copy_to(tmp_path_factory.mktemp("forecasted"))
    last = months_last_day(months)
    result = platform.run_models(
        last,
        [SALES_HISTORY, FORECAST_VERSIONS, SALES_FORECAST, SALES_VS_FORECAST,
         PRODUCT_RECOMMENDATIONS, RECOMMENDED_PRODUCTS],
    )  # fmt: skip
    assert result.success
    return platform


def months_last_day(platform: LocalPlatform) -> date:
    [(last,)] = platform.query("SELECT max(transaction_date) FROM retail_marts.agg_daily_sales")
    return last


@pytest.fixture(scope="module")
def rendered(forecasted, tmp_path_factory) -> tuple[dict, Path, Opened]:
    """The dashboard of the months platform with its forecast, opened once for the tests
    that read it."""
    metadata = materialize_dashboard(forecasted.database, tmp_path_factory.mktemp("dashboard"))
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
    assert len(opened.charts) == metadata["charts"] >= 29
    assert {chart["section"] for chart in opened.charts} == set(SECTIONS)
    for chart in opened.charts:
        assert chart["drawn"] and chart["svgs"] > 0, chart
        assert chart["traces"] > 0 and chart["marks"] > 0, chart
        assert chart["width"] > 300 and chart["height"] > 200, chart

    # Money axes: round ticks with the currency, big figures shortened ("$1.5 M").
    for chart in opened.charts:
        if chart["id"].removeprefix("chart-") in MONEY_AXES:
            money_ticks = [t for ticks in chart["axes"].values() for t in ticks if "$" in t]
            assert len(money_ticks) >= 3, chart
            assert all(MONEY_TICK.match(t) for t in money_ticks), chart
    # Every numeric axis, left and right, steps by 1, 2, 2.5 or 5 times a power of ten.
    numeric_axes = 0
    for chart in opened.charts:
        for axis, ticks in chart["axes"].items():
            values = tick_values(ticks)
            if values is not None and len(values) >= 2:
                assert is_round(values), (chart["id"], axis, ticks)
                numeric_axes += 1
    assert numeric_axes >= 25

    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert SCREENSHOT.stat().st_size > 100_000  # a page of charts, not a blank page


def tick_values(ticks: list[str]) -> list[float] | None:
    """The numbers an axis's labels stand for; None if any is not a number (dates, names)."""
    values = []
    for tick in ticks:
        match = NUMBER_TICK.match(tick.replace("−", "-"))
        if match is None:
            return None
        sign, digits, unit, percent = match.groups()
        value = float(digits.replace(",", "")) * SCALE[unit] / (100 if percent else 1)
        values.append(-value if sign else value)
    return values


def is_round(values: list[float]) -> bool:
    """Equally spaced, by a step of 1, 2, 2.5 or 5 times a power of ten."""
    steps = [b - a for a, b in zip(values, values[1:], strict=False)]
    step = steps[0]
    if step <= 0 or any(abs(s - step) > 1e-9 * abs(step) for s in steps):
        return False
    mantissa = step / 10 ** math.floor(math.log10(step) + 1e-12)
    return any(abs(mantissa - m) < 1e-9 for m in (1, 2, 2.5, 5))


def test_the_round_tick_check_tells_round_axes_from_others():
    assert is_round(tick_values(["$0", "$250 k", "$500 k", "$750 k", "$1 M"]))
    assert is_round(tick_values(["0%", "2.5%", "5%"])) and is_round(tick_values(["0", "0.2M"]))
    assert not is_round(tick_values(["0%", "13%", "26%", "39%"]))  # a right axis gone wrong
    assert not is_round(tick_values(["0.22", "0.29", "0.37"]))
    assert tick_values(["Jan 12", "Jan 19"]) is None and tick_values(["F1", "F2"]) is None


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
    # dollars with thousands separators; from a million up, in millions to the cent
    assert shown["net_revenue"] == (
        f"${net_revenue / 1_000_000:,.2f} M" if net_revenue >= 1_000_000 else f"${net_revenue:,.2f}"
    )
    assert float(kpis["orders"]) == orders and shown["orders"] == f"{orders:,}"
    assert float(kpis["customers"]) == len(rfm)  # distinct customers with a sale
    # Per-store AOVs are rounded to the cent, so the weighted mean is within a cent.
    assert abs(Decimal(kpis["avg_order_value"]) - sales_net / orders) <= Decimal("0.01")
    assert Decimal(kpis["net_revenue_last_7_days"]) == last_7
    assert float(kpis["net_revenue_wow_change"]) == pytest.approx(float(last_7 / previous_7 - 1))
    assert float(kpis["items_sold"]) == sum(row["items_sold"] for row in daily.values())
    assert metadata["kpi_net_revenue"] == float(net_revenue)

    # repeat: 2 or more completed orders; against one-time buyers (exactly 1)
    lifetime = model.customer_lifetime()
    repeat = [row["net_spend"] for row in lifetime.values() if row["completed_orders"] >= 2]
    one_time = [row["net_spend"] for row in lifetime.values() if row["completed_orders"] == 1]
    assert float(kpis["repeat_customer_share"]) == pytest.approx(len(repeat) / len(rfm))
    multiple = (sum(repeat) / len(repeat)) / (sum(one_time) / len(one_time))
    assert float(kpis["repeat_revenue_multiple"]) == pytest.approx(float(multiple))
    assert shown["repeat_revenue_multiple"] == f"{multiple:.1f}×"
    high_value = model.customer_value_tiers()["High"]
    assert float(kpis["high_value_revenue_share"]) == pytest.approx(high_value["revenue_share"])
    assert kpis["top_category"] == max(
        (sum(r["net_revenue"] for (_, c), r in model.category_sales().items() if c == category),
         category)
        for category in {c for _, c in model.category_sales()}
    )[1]  # fmt: skip

    # One "data as of" badge: the latest day with sales.
    assert opened.badges == [[f"{latest:%Y-%m-%d}", f"Data as of {latest.day} {latest:%b %Y}"]]
    # Plain language: no table or engineering names anywhere a person reads.
    assert ENGINEERING.findall(opened.text) == []
    assert "US dollars" in opened.text
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
def test_customer_health_without_churn_scores_shows_no_data_yet(forecasted, tmp_path):
    """Before any churn model met its floor, customer_health has no probabilities: the
    churn charts are notes, everything else is still drawn, and nothing fails."""
    database = tmp_path / "warehouse.duckdb"
    shutil.copyfile(forecasted.database, database)
    with duckdb.connect(str(database)) as connection:
        connection.execute("DELETE FROM retail_ml.churn_scores")

    metadata = materialize_dashboard(database, tmp_path / "dashboard")
    assert set(metadata["charts_without_data"].split(", ")) == CHURN_CHARTS
    opened = open_in_browser(Path(metadata["dagster/uri"]))
    assert opened.problems == []
    assert set(opened.notes) == CHURN_CHARTS
    assert all(note.startswith("No data yet: churn risk") for note in opened.notes.values())
    assert len(opened.charts) == metadata["charts"] > 0
    assert all(chart["marks"] > 0 for chart in opened.charts)
    assert (
        opened.kpis["high_churn_risk_customers"] == ""
        and opened.shown["high_churn_risk_customers"] == "–"
    )


def test_net_revenue_vs_forecast_shows_the_contracts_actuals_and_the_days_ahead(forecasted, months):
    """The executive page's forecast chart: all stores' actual net revenue (the contract's,
    recomputed from the landed files) on the 28 days before the forecast starts, the
    forecast and its band on those and the 28 days ahead, the days ahead shaded."""
    marts = load_marts(DuckDBWarehouse(database=str(forecasted.database)))
    dashboard = render_dashboard(marts, generated_at=datetime.now(UTC), source="test")
    [chart] = [c for c in dashboard.charts if c.key == FORECAST_CHART]
    assert chart.figure is not None and chart.title == "Net revenue vs forecast"
    upper, lower, forecast, actual = chart.figure.data
    assert (lower.fill, lower.name, forecast.name, actual.name) == (
        "tonexty",
        "likely range",
        "forecast",
        "actual",
    )
    days = [day.date() for day in pd.to_datetime(actual.x)]
    assert len(days) == len(set(days)) == 56
    last = months_last_day(months)
    daily = ContractModel(months.landing_root).daily_sales()
    for day, value in zip(days, actual.y, strict=True):
        if day <= last:
            expected = sum(row["net_revenue"] for (d, _), row in daily.items() if d == day)
            assert value == pytest.approx(float(expected), abs=0.005), day
        else:
            assert math.isnan(value), day  # ahead: forecast only
    assert days[0] == last - timedelta(days=27) and days[-1] == last + timedelta(days=28)
    assert all(lo <= f <= up for lo, f, up in zip(lower.y, forecast.y, upper.y, strict=True))
    [ahead] = chart.figure.layout.shapes
    assert pd.Timestamp(ahead.x0) == pd.Timestamp(last) + pd.Timedelta(hours=12)
    assert pd.Timestamp(ahead.x1) == pd.Timestamp(last + timedelta(days=28)) + pd.Timedelta(
        hours=12
    )
    assert "band" in chart.note and "retrained weekly" in chart.note
    assert ENGINEERING.findall(chart.note) == []


def test_the_customers_page_shows_age_bands_and_the_products_recommended_most(forecasted):
    """The two charts against the marts they draw (each mart is checked against the landed
    files elsewhere): every customer in an age band, and the ten products in the most
    customers' top 3, most first."""
    marts = load_marts(DuckDBWarehouse(database=str(forecasted.database)))
    dashboard = render_dashboard(marts, generated_at=datetime.now(UTC), source="test")
    charts = {chart.key: chart for chart in dashboard.charts}

    [bars] = charts[RECOMMENDED_CHART].figure.data
    expected = forecasted.query(
        "SELECT product_name, category, customers_top_3 FROM retail_marts.recommended_products "
        "ORDER BY customers_top_3 DESC, product_id LIMIT 10"
    )
    assert len(expected) == 10
    assert list(bars.x)[::-1] == [top3 for _, _, top3 in expected]  # the most at the top
    assert list(bars.y)[::-1] == [f"{name} ({category})" for name, category, _ in expected]

    ages = charts["age-and-gender"].figure
    shown = sum(sum(trace.y) for trace in ages.data if trace.type == "bar")
    [(customers,)] = forecasted.query(
        "SELECT sum(customer_base) FROM retail_marts.customer_demographics"
    )
    assert shown == customers > 0
    assert list(ages.data[0].x)[:2] == ["18-24", "25-34"]  # youngest first


def test_without_a_published_forecast_the_forecast_chart_is_a_plain_note(months):
    """The months platform made no forecast and no recommendations (its runs leave out
    their assets): sales_vs_forecast and recommended_products are empty, their charts
    notes, every other chart drawn."""
    assert months.query("SELECT count(*) FROM retail_marts.sales_vs_forecast") == [(0,)]
    assert months.query("SELECT count(*) FROM retail_marts.recommended_products") == [(0,)]
    marts = load_marts(DuckDBWarehouse(database=str(months.database)))
    dashboard = render_dashboard(marts, generated_at=datetime.now(UTC), source="test")
    assert sorted(dashboard.charts_without_data) == sorted([FORECAST_CHART, RECOMMENDED_CHART])
    notes = {c.key: c.note for c in dashboard.charts if c.key in dashboard.charts_without_data}
    assert notes[FORECAST_CHART].startswith("No data yet: the forecast appears once eight weeks")
    assert notes[RECOMMENDED_CHART].startswith(
        "No data yet: recommendations appear once the recommender has learned from 6 weeks"
    )
    assert ENGINEERING.findall(" ".join(notes.values())) == []


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


def test_the_dashboard_exposure_reads_the_marts_the_dashboard_reads():
    """sql/models/exposures.yml's retail_dashboard lists the marts marts/dashboard reads
    (dbt shows the exposure at the end of its lineage; dagster-dbt makes no asset of it),
    and the BI exposure every mart."""
    manifest = json.loads(built_manifest().read_text())
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    models = {n["unique_id"]: n for n in manifest["nodes"].values()}

    def marts_of(exposure: str) -> set[str]:
        return {models[node]["name"] for node in exposures[exposure]["depends_on"]["nodes"]}

    assert marts_of("retail_dashboard") == set(MARTS_READ)
    all_marts = {n["name"] for n in models.values()
                 if n["resource_type"] == "model" and n["fqn"][1] == "marts"}  # fmt: skip
    assert marts_of("bi_views") == all_marts


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (3_984_123.40, "$3.98 M"),
        (1_000_000, "$1.00 M"),
        (999_999.994, "$999,999.99"),
        (999_999.996, "$1.00 M"),  # rounds to a million: not "$1,000,000.00"
        (1_234.5, "$1,234.50"),
        (0, "$0.00"),
        (-2_500_000, "-$2.50 M"),
        (12_345_678_901, "$12.35 B"),
        (None, "–"),
        (float("nan"), "–"),
    ],
)
def test_money_has_its_currency_separators_and_shortens_big_figures(value, shown):
    assert fmt.money(value) == shown


def test_counts_percentages_and_multiples_read_plainly():
    assert fmt.count(1_234_567) == "1,234,567" and fmt.count(None) == "–"
    assert fmt.percent(0.1234) == "12.3%" and fmt.percent(0.05, signed=True) == "+5.0%"
    assert fmt.percent(0.2, decimals=0) == "20%"
    assert fmt.multiple(3.249) == "3.2×"
    assert fmt.share_labels([1, 3]) == ["25.0% of total", "75.0% of total"]
    assert fmt.share_labels([1], total=8) == ["12.5% of total"]


@pytest.mark.parametrize(
    ("high", "low", "ticks"),
    [
        (3_984_123, 0, [0, 1_000_000, 2_000_000, 3_000_000, 4_000_000]),
        (0.87, 0, [0, 0.25, 0.5, 0.75, 1.0]),
        (47, 0, [0, 20, 40, 60]),
        (1_000, 0, [0, 250, 500, 750, 1_000]),
        (250_000, -60_000, [-100_000, 0, 100_000, 200_000, 300_000]),
        (0, 0, [0, 0.25, 0.5, 0.75, 1.0]),  # no data: still an axis
    ],
)
def test_axes_get_round_ticks_that_cover_the_data(high, low, ticks):
    assert fmt.nice_ticks(high, low) == ticks


@pytest.mark.parametrize("high", [7.3, 123.0, 5_555.0, 98_765.4, 1_234_567.0, 31_000_000.0])
def test_every_tick_step_is_one_two_two_and_a_half_or_five_times_a_power_of_ten(high):
    ticks = fmt.nice_ticks(high)
    step = ticks[1] - ticks[0]
    mantissa = step / 10 ** int(f"{step:e}".split("e")[1])
    assert round(mantissa, 9) in (1.0, 2.0, 2.5, 5.0)
    assert ticks[0] == 0 and ticks[-2] < high <= ticks[-1] and 3 <= len(ticks) <= 7


@pytest.mark.parametrize(
    ("value", "label"),
    [(0, "$0"), (250, "$250"), (2.5, "$2.5"), (250_000, "$250 k"), (1_500_000, "$1.5 M"),
     (2_000_000, "$2 M"), (12_500_000, "$12.5 M"), (-100_000, "-$100 k")],
)  # fmt: skip
def test_money_ticks_are_short(value, label):
    assert fmt.money_tick(value) == label


def test_marts_not_built_yet_read_as_empty(tmp_path):
    """A warehouse the landing sensor's runs filled first holds no once-a-day mart until
    its job runs: the dashboard reads it as empty (its charts say "No data yet") and names
    it, where reading it would fail the page. Here one mart exists with a row, the rest not."""
    database = tmp_path / "warehouse.duckdb"
    built = "payment_mix"
    with duckdb.connect(str(database)) as connection:
        connection.execute("CREATE SCHEMA retail_marts")
        connection.execute(f"CREATE TABLE retail_marts.{built} (transaction_date DATE)")
    warehouse = DuckDBWarehouse(database=str(database))
    assert warehouse.relation_exists(f"retail_marts.{built}")
    assert not warehouse.relation_exists("retail_marts.customer_value_tiers")

    with pytest.raises(duckdb.Error):  # the mart's real columns are not in this stand-in
        load_marts(warehouse)
    with duckdb.connect(str(database)) as connection:
        connection.execute(f"DROP TABLE retail_marts.{built}")
    marts = load_marts(warehouse)
    assert marts.not_built == tuple(sorted(MARTS_READ))
    assert set(marts.rows().values()) == {0}
    rendered = render_dashboard(marts, generated_at=datetime.now(UTC), source="test")
    assert rendered.charts_without_data and "No data yet" in rendered.html


def test_the_warehouse_lists_a_schemas_relations_in_one_query(tmp_path, monkeypatch):
    """``relations_in`` names a schema's tables and views (a schema not there yet: none);
    ``load_marts`` asks it once for every mart, not once per mart."""
    database = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(database)) as connection:
        connection.execute("CREATE SCHEMA retail_marts")
        connection.execute("CREATE SCHEMA retail_gold")
        connection.execute("CREATE TABLE retail_marts.payment_mix (transaction_date DATE)")
        connection.execute("CREATE VIEW retail_marts.v_executive_summary AS SELECT 1 AS x")
        connection.execute("CREATE TABLE retail_gold.city_sales (city VARCHAR)")
    warehouse = DuckDBWarehouse(database=str(database))
    assert warehouse.relations_in("retail_marts") == {"payment_mix", "v_executive_summary"}
    assert warehouse.relations_in("retail_gold") == {"city_sales"}
    assert warehouse.relations_in("retail_ml") == frozenset()
    assert warehouse.relation_exists("retail_marts.v_executive_summary")
    assert warehouse.relation_exists("warehouse.retail_marts.payment_mix")  # dbt's name
    assert not warehouse.relation_exists("retail_marts.city_sales")  # another schema's
    assert not warehouse.relation_exists("retail_ml.churn_scores")

    with duckdb.connect(str(database)) as connection:
        connection.execute("DROP TABLE retail_marts.payment_mix")
        connection.execute("DROP VIEW retail_marts.v_executive_summary")
    queries: list[str] = []
    query = DuckDBWarehouse.query

    def recorded(self, sql, parameters=()):
        queries.append(sql)
        return query(self, sql, parameters)

    monkeypatch.setattr(DuckDBWarehouse, "query", recorded)
    marts = load_marts(warehouse)
    assert marts.not_built == tuple(sorted(MARTS_READ))
    assert len(queries) == 1 and "information_schema.tables" in queries[0], queries
