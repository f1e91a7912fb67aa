"""Every mart equals the contract's definitions computed straight from the landing files."""

from decimal import Decimal

import dagster as dg
import pytest

from retail_platform_tests.contract_model import ContractModel, latest_rows


@pytest.fixture(scope="module")
def model(week) -> ContractModel:
    return ContractModel(week.landing_root)


def close(a, b, tolerance=1e-9) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) <= tolerance


def test_the_week_has_no_rejects_and_every_row_reconciles(week):
    assert week.query("SELECT count(*) FROM retail_silver.rejects") == [(0,)]
    assert week.query(
        "SELECT count(*) FROM retail_silver.reconciliation WHERE unexplained_rows <> 0"
    ) == [(0,)]  # noqa: E501
    assert week.query("SELECT count(*) FROM retail_gold.revenue_reconciliation "
                      "WHERE net_difference <> 0 OR gross_difference <> 0") == [(0,)]  # fmt: skip


def test_agg_daily_sales(week, model):
    expected = model.daily_sales()
    rows = week.query(
        "SELECT transaction_date, store_id, orders, customers, items_sold, gross_revenue, "
        "net_revenue, avg_order_value FROM retail_marts.agg_daily_sales"
    )
    assert {(r[0], r[1]) for r in rows} == set(expected)
    for day, store, orders, customers, items, gross, net, aov in rows:
        want = expected[(day, store)]
        assert (orders, customers, items) == (want["orders"], want["customers"], want["items_sold"])
        assert (gross, net) == (want["gross_revenue"], want["net_revenue"])
        assert close(aov, want["avg_order_value"], 0.005)
    assert sum(r[6] for r in rows) > Decimal(1000)  # a week of real sales, not zeros


def test_v_executive_summary(week, model):
    daily, regions = model.daily_sales(), model.store_regions()
    rows = week.query(
        "SELECT transaction_date, store_id, region, orders, net_revenue, "
        "net_revenue_same_day_last_week FROM retail_marts.v_executive_summary"
    )
    assert len(rows) == len(daily)
    compared_last_week = 0
    for day, store, region, orders, net, last_week in rows:
        assert region == regions[store]
        assert (orders, net) == (daily[(day, store)]["orders"], daily[(day, store)]["net_revenue"])
        previous = daily.get((day.fromordinal(day.toordinal() - 7), store))
        assert last_week == (previous["net_revenue"] if previous else None)
        compared_last_week += previous is not None
    assert compared_last_week == 0  # one week only: no same day last week yet


def test_agg_customer_segments(week, model):
    expected = model.customer_rfm()
    rows = week.query(
        "SELECT customer_id, recency_days, frequency, monetary, r_score, f_score, m_score, segment "
        "FROM retail_marts.agg_customer_segments"
    )
    assert {r[0] for r in rows} == set(expected)
    fields = ("recency_days", "frequency", "monetary", "r_score", "f_score", "m_score")
    for customer, *got, _ in rows:
        assert tuple(got) == tuple(expected[customer][f] for f in fields)
    assert len({r[-1] for r in rows}) >= 6


def test_agg_daily_product_sales(week, model):
    expected = model.product_sales(lambda day: day)
    rows = week.query(
        "SELECT transaction_date, product_id, orders, units, net_revenue "
        "FROM retail_marts.agg_daily_product_sales"
    )
    assert {(r[0], r[1]) for r in rows} == set(expected)
    for day, product, orders, units, net in rows:
        want = expected[(day, product)]
        assert (orders, units, net) == (want["orders"], want["units"], want["net_revenue"])


def test_top_products_monthly(week, model):
    expected = model.top_products_monthly()
    rows = week.query(
        "SELECT month, product_id, product_name, units, net_revenue, rank_in_month "
        "FROM retail_marts.top_products_monthly"
    )
    assert {(r[0], r[1]) for r in rows} == set(expected)
    for month, product, name, units, net, rank in rows:
        want = expected[(month, product)]
        assert (units, net, rank) == (want["units"], want["net_revenue"], want["rank_in_month"])
        assert name


def test_payment_mix(week, model):
    expected = model.payment_mix()
    rows = week.query(
        "SELECT transaction_date, method, payments, amount, failure_rate "
        "FROM retail_marts.payment_mix"
    )
    assert {(r[0], r[1]) for r in rows} == set(expected)
    for day, method, payments, amount, failure_rate in rows:
        want = expected[(day, method)]
        assert (payments, amount) == (want["payments"], want["amount"])
        assert close(failure_rate, want["failure_rate"])


def test_shipping_performance(week, model):
    expected = model.shipping_performance()
    rows = week.frame("SELECT * FROM retail_marts.shipping_performance")
    assert set(rows.carrier) == set(expected)
    for row in rows.itertuples():
        want = expected[row.carrier]
        assert (row.shipments, row.delivered) == (want["shipments"], want["delivered"])
        for field in ("on_time_rate", "avg_delay_days", "damage_rate", "loss_rate"):
            assert close(getattr(row, field), want[field]), field


def test_store_inventory_alerts(week, model):
    expected = model.inventory_alerts()
    rows = week.frame("SELECT * FROM retail_marts.store_inventory_alerts")
    assert set(zip(rows.store_id, rows.product_id, strict=True)) == set(expected)
    for row in rows.itertuples():
        want = expected[(row.store_id, row.product_id)]
        assert (row.on_hand, row.reorder_point, bool(row.below_reorder_point)) == (
            want["on_hand"], want["reorder_point"], want["below_reorder_point"])  # fmt: skip
        days_of_cover = None if row.days_of_cover != row.days_of_cover else row.days_of_cover
        assert close(days_of_cover, want["days_of_cover"], 1e-6)
    assert rows.below_reorder_point.any()


def test_employee_performance(week, model):
    expected = model.employee_performance()
    rows = week.query(
        "SELECT employee_id, store_id, orders, net_revenue FROM retail_marts.employee_performance"
    )
    assert {r[0] for r in rows} == set(expected)
    for employee, _, orders, net in rows:
        assert (orders, net) == (expected[employee]["orders"], expected[employee]["net_revenue"])


def test_dim_dates_marks_the_days_with_sales(week, model):
    sales_days = {day for day, _store in model.daily_sales()}
    assert len(sales_days) == 7
    rows = week.query("SELECT date_day, has_sales FROM retail_gold.dim_dates")
    assert {day for day, has_sales in rows if has_sales} == sales_days
    assert len(rows) > 2000  # the whole calendar, not only the loaded days


def test_tables_report_their_row_count_and_views_none(week):
    """Counted once dbt has exited; a view has no count (counting would run its query)."""

    def metadata(*path: str) -> dict:
        event = week.instance.get_latest_materialization_event(dg.AssetKey(list(path)))
        return event.asset_materialization.metadata

    for layer, table in (("gold", "fact_sales"), ("silver", "orders"), ("gold", "dim_dates")):
        [(rows,)] = week.query(f"SELECT count(*) FROM retail_{layer}.{table}")
        assert rows > 0
        assert metadata(layer, table)["dagster/row_count"].value == rows
    assert metadata("marts", "agg_daily_sales")["dagster/row_count"].value == len(
        week.query("SELECT 1 FROM retail_marts.agg_daily_sales")
    )
    assert "dagster/row_count" not in metadata("marts", "v_executive_summary")


def test_fact_sales_nests_every_landed_line_of_an_order_in_line_order(week, model):
    """Each order's line_items are its landed lines, sorted by line_no, amounts as landed."""
    expected: dict[str, list[tuple]] = {}
    for line in latest_rows(week.landing_root)["order_items"]:
        expected.setdefault(line["order_id"], []).append(
            (line["line_no"], line["product_id"], line["quantity"], line["unit_price"],
             line["discount_rate"], line["line_amount"])
        )  # fmt: skip
    rows = week.query(
        "SELECT order_id, [(i.line_no, i.product_id, i.quantity, i.unit_price, i.discount_rate, "
        "i.line_amount) FOR i IN line_items] FROM retail_gold.fact_sales WHERE line_count > 0"
    )
    assert {order_id for order_id, _ in rows} == set(expected)
    for order_id, lines in rows:
        assert [tuple(line) for line in lines] == sorted(expected[order_id])
    assert sum(len(lines) > 2 for _, lines in rows) > 100  # many orders have several lines
