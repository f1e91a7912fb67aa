"""The source simulator: determinism, contract shape, realism, integrity, faults, I/O.

Everything runs on real generated data. Expected values are recomputed from the
delivered rows (Decimal arithmetic, pandas, parsers), never with simulator code.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import subprocess
import sys
from collections import defaultdict
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pytest

from retail_platform.lib.entities import ENTITIES
from retail_platform.lib.landing_zone import LocalLandingZone, parse_landing_path
from retail_platform.lib.simulator import (
    FaultConfig,
    LandingBatch,
    SimulationConfig,
    render,
    simulate,
    simulate_day,
)
from retail_platform.lib.simulator._world import get_world
from retail_platform.settings import PROJECT_ROOT

OPENED = date(2025, 1, 1)
CLEAN = SimulationConfig(seed=7, orders_per_day=200, opened_on=OPENED, faults=FaultConfig.none())
CLEAN_DAYS = 70
FAULTY = SimulationConfig(
    seed=11,
    orders_per_day=150,
    opened_on=OPENED,
    faults=FaultConfig(
        duplicate_rows=0.05,
        redelivered_files=0.25,
        late_files=True,
        customer_updates=0.05,
        bad_rows=0.05,
        malformed_files=1.0,
    ),
)
FAULTY_DAYS = 12
FACTS = ("orders", "order_items", "payments", "shipments", "inventory")
CENT = Decimal("0.01")


def days_from(start: date, n: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(n)]


def frame(batches: list[LandingBatch], entity: str) -> pd.DataFrame:
    """Rows of ``entity`` with the folder date, arrival and batch id of each row."""
    parts = []
    for b in batches:
        if b.entity != entity:
            continue
        df = b.table.to_pandas()
        df["folder_day"] = b.partition_date
        df["arrival_day"] = b.arrives_on
        df["batch_name"] = b.batch_id
        parts.append(df)
    return pd.concat(parts, ignore_index=True)


def expected_line_amount(q: int, price: Decimal, rate: Decimal) -> Decimal:
    return (Decimal(q) * price * (Decimal(1) - rate)).quantize(CENT, rounding=ROUND_HALF_UP)


def is_valid_timestamp(value: str | None) -> bool:
    if value is None:
        return False
    try:
        datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return False
    return True


@pytest.fixture(scope="module")
def clean() -> list[LandingBatch]:
    return [b for d in days_from(OPENED, CLEAN_DAYS) for b in simulate_day(CLEAN, d)]


@pytest.fixture(scope="module")
def faulty() -> list[LandingBatch]:
    return [b for d in days_from(OPENED, FAULTY_DAYS) for b in simulate_day(FAULTY, d)]


# ----------------------------------------------------------------------------- imports


def dagster_modules_after_import(module: str) -> list[str]:
    """The dagster modules a fresh interpreter holds after importing ``module``."""
    code = (
        f"import sys, {module}; "
        "print(sorted(m for m in sys.modules if m.partition('.')[0] == 'dagster'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.replace("'", '"'))


def test_importing_the_simulator_does_not_import_dagster():
    """The simulator is a plain library: scripts and its worker processes import it
    without Dagster's import time."""
    assert dagster_modules_after_import("retail_platform.lib.simulator") == []
    # the probe sees Dagster where it is imported: the landing zone is a Dagster resource
    assert "dagster" in dagster_modules_after_import("retail_platform.lib.landing_zone")


# ----------------------------------------------------------------------------- determinism


def _digest(config: SimulationConfig, day: date, fmt: str = "jsonl") -> dict[str, str]:
    return {
        b.path_for(fmt): hashlib.sha256(render(b, fmt)).hexdigest()
        for b in simulate_day(config, day)
    }


def test_same_day_is_byte_identical_whatever_else_was_simulated():
    config = SimulationConfig(seed=3, orders_per_day=120)
    target = OPENED + timedelta(days=40)
    get_world.cache_clear()
    first = _digest(config, target)  # a cold process: nothing else simulated yet
    first_csv = _digest(config, target, "csv")
    get_world.cache_clear()
    for d in reversed(days_from(OPENED + timedelta(days=35), 10)):  # other days, other order
        simulate_day(config, d)
    assert _digest(config, target) == first
    assert _digest(config, target, "csv") == first_csv
    assert len(first) >= 6 and any("-late-" in p for p in first)


def test_different_seeds_give_different_data():
    day = OPENED + timedelta(days=3)
    a = _digest(SimulationConfig(seed=1, orders_per_day=100), day)
    b = _digest(SimulationConfig(seed=2, orders_per_day=100), day)
    assert set(a) & set(b)
    assert all(a[p] != b[p] for p in set(a) & set(b))


def test_nothing_before_the_business_opens():
    assert simulate_day(CLEAN, OPENED - timedelta(days=1)) == []


# ----------------------------------------------------------------------------- contract shape


def test_columns_types_and_partitions_follow_the_contract(clean):
    seen = set()
    for b in clean:
        seen.add(b.entity)
        assert b.table.column_names == ENTITIES[b.entity].column_names
        assert b.num_rows > 0
        assert set(b.table.column("transaction_date").to_pylist()) == {b.partition_date.isoformat()}
        assert b.path == f"{b.entity}/transaction_date={b.partition_date}/{b.batch_id}.jsonl"
        parsed = parse_landing_path(b.path)
        assert (parsed.entity, parsed.partition_date) == (b.entity, b.partition_date)
        assert re.fullmatch(r"batch-\d{8}-main", b.batch_id)
        assert b.arrives_on == b.partition_date
        updated = b.table.column("updated_at").to_pylist()
        assert all(is_valid_timestamp(v) for v in updated[:: max(1, len(updated) // 50)])
        assert min(updated)[:10] >= b.partition_date.isoformat()
    assert seen == set(ENTITIES)


def test_opening_day_delivers_the_dimensions(clean):
    day0 = [b for b in clean if b.partition_date == OPENED]
    by_entity = {b.entity: b.table.to_pandas() for b in day0}
    stores, employees = by_entity["stores"], by_entity["employees"]
    products, customers = by_entity["products"], by_entity["customers"]
    assert 8 <= len(stores) <= 12 and stores.store_id.is_unique
    assert stores.region.nunique() >= 3
    assert 200 <= len(products) <= 500 and products.product_id.is_unique
    assert products.category.nunique() >= 5 and products.brand.nunique() >= 10
    assert (products.list_price > products.unit_cost).all()
    assert set(employees.store_id) == set(stores.store_id)
    managers = employees[employees.role == "store_manager"].groupby("store_id").size()
    assert (managers == 1).all() and len(managers) == len(stores)
    assert len(customers) >= 20 * CLEAN.orders_per_day and customers.customer_id.is_unique
    assert set(customers.region) <= set(stores.region)
    assert set(customers.loyalty_tier) == {"bronze", "silver", "gold"}
    assert customers.email.str.fullmatch(r"[a-z]+\.[a-z]+\d+(\.\d+)?@[a-z.]+").all()


def test_daily_row_counts(clean):
    orders, items = frame(clean, "orders"), frame(clean, "order_items")
    per_day = orders.groupby("folder_day").size()
    assert len(per_day) == CLEAN_DAYS
    assert 0.75 * CLEAN.orders_per_day < per_day.mean() < 1.25 * CLEAN.orders_per_day
    lines = items.groupby("order_id").size()
    assert set(lines.index) == set(orders.order_id)
    assert lines.min() >= 1 and lines.max() <= 6 and 2.5 < lines.mean() < 3.5
    assert (
        items.groupby("order_id").line_no.apply(lambda s: sorted(s) == list(range(1, len(s) + 1)))
    ).all()
    assert items.quantity.between(1, 3).mean() > 0.9
    inv = frame(clean, "inventory")
    stores = frame(clean, "stores")
    products = frame(clean, "products").product_id.nunique()
    assert (inv.groupby("folder_day").size() == len(stores) * products).all()
    shipments = frame(clean, "shipments")
    shipped = orders[(orders.channel == "online") & (orders.status != "cancelled")]
    assert sorted(shipments.order_id) == sorted(shipped.order_id)


# ----------------------------------------------------------------------------- realism


def test_customers_repeat_and_purchase_frequency_varies(clean):
    orders = frame(clean, "orders")
    per_customer = orders.groupby("customer_id").size()
    assert (per_customer > 1).mean() > 0.4
    assert per_customer.max() >= 5 * per_customer.median()
    assert per_customer.std() / per_customer.mean() > 0.6


def test_status_and_channel_shares(clean):
    orders = frame(clean, "orders")
    share = orders.status.value_counts(normalize=True)
    assert 0.86 < share["completed"] < 0.94
    assert 0.025 < share["cancelled"] < 0.06
    assert 0.04 < share["returned"] < 0.08
    online = orders.channel.eq("online").mean()
    assert 0.15 < online < 0.45
    assert orders[orders.channel == "online"].employee_id.isna().all()
    in_store = orders[orders.channel == "in_store"]
    employees = frame(clean, "employees").set_index("employee_id")
    assert in_store.employee_id.notna().all()
    assert (employees.loc[in_store.employee_id, "store_id"].to_numpy() == in_store.store_id).all()
    assert (employees.loc[in_store.employee_id, "role"] != "store_manager").all()


def test_weekends_sell_more_than_weekdays(clean):
    orders = frame(clean, "orders")
    per_day = orders.groupby("folder_day").size()
    weekend = [n for d, n in per_day.items() if d.weekday() >= 5]
    weekday = [n for d, n in per_day.items() if d.weekday() < 5]
    assert sum(weekend) / len(weekend) > 1.15 * sum(weekday) / len(weekday)


def test_holiday_season_is_busier():
    config = SimulationConfig(seed=7, orders_per_day=200, faults=FaultConfig.none())

    def orders_on(d: date) -> int:
        return sum(b.num_rows for b in simulate_day(config, d) if b.entity == "orders")

    december = sum(orders_on(date(2025, 12, d)) for d in range(15, 22))
    march = sum(orders_on(date(2025, 3, d)) for d in range(10, 17))
    assert december > 1.3 * march


def test_payments_fail_retry_refund_and_match_order_amounts(clean):
    orders, items = frame(clean, "orders"), frame(clean, "order_items")
    payments = frame(clean, "payments")
    assert set(payments.method) == {"card", "cash", "bank_transfer", "wallet"}
    net = items.groupby("order_id").line_amount.sum()
    assert (payments.amount.to_numpy() == net.loc[payments.order_id].to_numpy()).all()
    retried = payments[(payments.attempt == 2) & (payments.status == "succeeded")].order_id
    assert len(retried) > 20
    first = payments[(payments.attempt == 1) & (payments.status != "refunded")]
    assert (first.set_index("order_id").loc[retried].status == "failed").all()
    kinds = payments.groupby("order_id").status.agg(lambda s: ",".join(sorted(set(s))))
    by_status = orders.set_index("order_id").status.groupby(kinds).value_counts().unstack(1)
    by_status = by_status.fillna(0)
    allowed = {
        "completed": {"succeeded", "failed,succeeded"},
        "cancelled": {"failed", "refunded,succeeded"},
        "returned": {"refunded,succeeded", "failed,refunded,succeeded"},
    }
    for status, combos in allowed.items():
        seen = set(by_status.index[by_status[status] > 0])
        assert seen <= combos, (status, seen)
        assert seen, status
    cash = payments[payments.method == "cash"]
    assert (cash.status != "failed").all()


def test_carriers_differ_in_delay_and_outcomes(clean):
    ships = frame(clean, "shipments")
    assert set(ships.status) <= {"delivered", "lost", "returned"}  # final versions, no late
    delivered = ships[ships.status == "delivered"].copy()
    assert delivered.delivered_at.notna().all()
    assert ships[ships.status != "delivered"].delivered_at.isna().all()
    assert (delivered.delivered_at > delivered.shipped_at).all()
    delay = pd.to_datetime(delivered.delivered_at.str[:10]) - pd.to_datetime(delivered.promised_on)
    delivered["delay"] = delay.dt.days
    per_carrier = delivered.groupby("carrier").delay.mean()
    assert len(per_carrier) >= 4
    assert per_carrier.max() - per_carrier.min() > 0.2
    late_share = delivered.groupby("carrier").delay.apply(lambda s: (s > 0).mean())
    assert late_share.max() > 2 * late_share.min()
    assert ships.damaged.any() and (ships.status == "lost").any()
    assert set(ships.service_level) == {"standard", "express", "next_day"}


def test_inventory_sawtooth_with_stockouts_and_restocks(clean):
    inv = frame(clean, "inventory").sort_values(["store_id", "product_id", "folder_day"])
    assert (inv.on_hand >= 0).all() and (inv.reorder_point > 0).all()
    assert (inv.on_hand == 0).any()
    prev = inv.groupby(["store_id", "product_id"]).on_hand.shift()
    no_restock = (inv.received_qty == 0) & prev.notna()
    assert (inv.on_hand[no_restock] <= prev[no_restock]).all()  # stock only falls between restocks
    restock = (inv.received_qty > 0) & prev.notna()
    assert restock.sum() > 100
    assert (inv.on_hand[restock] <= prev[restock] + inv.received_qty[restock]).all()
    recovered = restock & (prev == 0) & (inv.on_hand > 0)
    assert recovered.any()  # a stock-out ends with a delivery
    assert inv.damaged_qty.gt(0).any()
    assert (inv.on_hand < inv.reorder_point).mean() > 0.02


def test_prices_follow_the_delivered_catalogue(clean):
    products = frame(clean, "products").sort_values(["product_id", "updated_at"])
    assert products.groupby("product_id").size().max() > 1  # price changes happened
    items = frame(clean, "order_items")
    in_force = {}
    for row in products.itertuples():
        in_force.setdefault(row.product_id, []).append((row.folder_day, row.list_price))
    for row in items.sample(3000, random_state=1).itertuples():
        versions = [price for day, price in in_force[row.product_id] if day <= row.folder_day]
        assert row.unit_price == versions[-1]


# ----------------------------------------------------------------------------- integrity


def _delivered(batches: list[LandingBatch]) -> dict[str, dict[str, date]]:
    """First arrival day of every dimension id."""
    first: dict[str, dict[str, date]] = defaultdict(dict)
    keys = {"customers": "customer_id", "products": "product_id", "stores": "store_id"}
    keys["employees"] = "employee_id"
    for b in batches:
        if b.entity in keys:
            for key in b.table.column(keys[b.entity]).to_pylist():
                seen = first[b.entity].get(key)
                first[b.entity][key] = b.arrives_on if seen is None else min(seen, b.arrives_on)
    return first


@pytest.mark.parametrize("which", ["clean", "faulty"])
def test_every_id_was_delivered_before_it_is_used(which, request):
    batches = request.getfixturevalue(which)
    first = _delivered(batches)
    checks = {
        "orders": [
            ("customer_id", "customers"),
            ("store_id", "stores"),
            ("employee_id", "employees"),
        ],
        "order_items": [("product_id", "products")],
        "inventory": [("store_id", "stores"), ("product_id", "products")],
    }
    for entity, refs in checks.items():
        rows = frame(batches, entity)
        for col, dim in refs:
            used = rows[rows[col].notna() & (rows[col] != "P9999")]  # P9999: injected bad rows
            arrived = used[col].map(first[dim])
            assert arrived.notna().all(), f"{entity}.{col} uses ids never delivered"
            assert (arrived <= used.arrival_day).all()
            assert (arrived <= used.folder_day).all()
    orders = frame(batches, "orders")
    known = set(orders.order_id.dropna())
    nulled = orders[orders.order_id.isna()].drop_duplicates().shape[0]  # injected null keys
    for entity in ("order_items", "payments", "shipments"):
        rows = frame(batches, entity)
        assert len(set(rows.order_id.dropna()) - known) <= nulled


def test_any_volume_continues_the_history_with_its_own_customers():
    """Days at one volume, then days at 2.5x, 0.2x and back: every id a day uses was
    delivered on an earlier day or with that day, the customers a day signs up do not
    depend on its volume, and a day at the world's own volume is the same files whether
    the world is named or left to follow the volume."""
    world = 60
    config = replace(CLEAN, seed=23, orders_per_day=world, world_orders_per_day=world)
    history = [b for d in days_from(OPENED, 20) for b in simulate_day(config, d)]
    first = _delivered(history)
    for offset, volume in ((20, 150), (21, 12), (22, world)):
        day = OPENED + timedelta(days=offset)
        batches = simulate_day(replace(config, orders_per_day=volume), day)
        delivered = _delivered(batches)
        orders = frame(batches, "orders")
        assert 0.4 * volume < len(orders) < 2 * volume, (volume, len(orders))
        for column, dim in (
            ("customer_id", "customers"), ("store_id", "stores"), ("employee_id", "employees")
        ):  # fmt: skip
            used = set(orders[column].dropna())
            assert used <= set(first[dim]) | set(delivered[dim]), (volume, column)
        lines = frame(batches, "order_items")
        assert set(lines.product_id) <= set(first["products"]) | set(delivered["products"])
        signups = frame(batches, "customers").customer_id.tolist()
        at_world = frame(simulate_day(config, day), "customers").customer_id.tolist()
        assert signups == at_world, volume
        for b in batches:
            if b.entity == "customers":
                first[b.entity].update(
                    dict.fromkeys(b.table.column("customer_id").to_pylist(), day)
                )
    day = OPENED + timedelta(days=5)
    unnamed = SimulationConfig(seed=23, orders_per_day=world, opened_on=OPENED)
    named = replace(unnamed, world_orders_per_day=world)
    assert unnamed.world_volume == world and _digest(unnamed, day) == _digest(named, day)


@pytest.mark.parametrize(
    "kwargs",
    [{"bad_rows": 1.5}, {"duplicate_rows": -0.1}, {"malformed_files": float("nan")}],
)
def test_fault_rates_are_shares(kwargs):
    with pytest.raises(ValueError, match="between 0 and 1"):
        FaultConfig(**kwargs)


def test_line_amounts_are_exact_for_valid_rows(clean):
    items = frame(clean, "order_items")
    expected = [
        expected_line_amount(q, p, r)
        for q, p, r in zip(items.quantity, items.unit_price, items.discount_rate, strict=True)
    ]
    assert (items.line_amount == pd.Series(expected)).all()
    assert (items.discount_rate < 1).all() and (items.discount_rate >= 0).all()
    assert items.discount_rate.eq(0).mean() > 0.6
    assert all(v == v.quantize(CENT) for v in items.unit_price)


def test_dimension_rows_have_unique_keys_per_folder(clean):
    for entity in ("customers", "products"):
        df = frame(clean, entity)
        assert not df.duplicated(["folder_day", ENTITIES[entity].natural_key[0]]).any()


# ----------------------------------------------------------------------------- faults


def _bad_row_counts(batch: LandingBatch) -> dict[str, int]:
    """Detect invalid rows independently of the simulator's own bookkeeping."""
    df = batch.table.to_pandas()
    e = batch.entity
    key = {"orders": "order_id", "order_items": "order_id", "payments": "payment_id"}
    key |= {"shipments": "shipment_id", "inventory": "product_id"}
    found = {
        "null_key": int(df[key[e]].isna().sum()),
        "partition_mismatch": int((df.transaction_date != batch.partition_date.isoformat()).sum()),
    }
    stamp = {"orders": "ordered_at", "payments": "paid_at", "shipments": "shipped_at"}.get(e)
    if stamp:
        found["impossible_date"] = int((~df[stamp].map(is_valid_timestamp)).sum())
    if e in ("order_items", "inventory"):
        found["unknown_product"] = int((df.product_id == "P9999").sum())
    if e == "order_items":
        found["negative_quantity"] = int((df.quantity <= 0).sum())
        computed = [
            expected_line_amount(q, p, r)
            for q, p, r in zip(df.quantity, df.unit_price, df.discount_rate, strict=True)
        ]
        found["line_amount_mismatch"] = int(
            sum(abs(a - c) > CENT for a, c in zip(df.line_amount, computed, strict=True))
        )
    return {k: v for k, v in found.items() if v}


def test_every_fault_kind_appears_and_is_recorded(faulty):
    kinds = defaultdict(int)
    for b in faulty:
        for k, v in b.faults.items():
            kinds[k] += v
    expected_bad = {
        "null_key", "partition_mismatch", "impossible_date", "unknown_product",
        "negative_quantity", "line_amount_mismatch",
    }  # fmt: skip
    assert {k.split(":", 1)[1] for k in kinds if k.startswith("bad_rows:")} == expected_bad
    for k in ("duplicate_rows", "redelivered_file", "late_file", "customer_updates"):
        assert kinds[k] > 0, k
    assert kinds["malformed_file"] == FAULTY_DAYS  # rate 1.0: one per day
    for b in faulty:
        if b.entity in FACTS and not b.is_redelivery:
            # a duplicated bad row is detected twice: one bad row plus one duplicate
            found = sum(_bad_row_counts(b).values())
            recorded = sum(v for k, v in b.faults.items() if k.startswith("bad_rows:"))
            assert recorded <= found <= recorded + b.faults.get("duplicate_rows", 0), b.path
        if b.entity not in FACTS:
            assert not any(k.startswith(("bad_rows", "duplicate")) for k in b.faults)


def test_bad_rows_are_exactly_what_is_recorded():
    faults = FaultConfig(duplicate_rows=0, redelivered_files=0, bad_rows=0.05)
    config = SimulationConfig(seed=13, orders_per_day=150, faults=faults)
    total = defaultdict(int)
    for d in days_from(OPENED + timedelta(days=20), 4):
        for b in simulate_day(config, d):
            if b.entity in FACTS:
                recorded = {
                    k.split(":", 1)[1]: v for k, v in b.faults.items() if k.startswith("bad_rows:")
                }
                assert _bad_row_counts(b) == recorded, b.path
                for k, v in recorded.items():
                    total[k] += v
    assert len(total) == 6 and min(total.values()) >= 5


def test_duplicates_are_exact_repeats_within_the_file(faulty):
    checked = 0
    for b in faulty:
        if b.entity in ("orders", "order_items", "payments", "shipments") and not b.is_redelivery:
            df = b.table.to_pandas().astype(str)
            assert int(df.duplicated().sum()) == b.faults.get("duplicate_rows", 0)
            checked += b.faults.get("duplicate_rows", 0)
    assert checked > 50


def test_redeliveries_are_byte_identical_and_not_earlier(faulty):
    originals = {(b.entity, b.partition_date, b.batch_id): b for b in faulty}
    copies = [b for b in faulty if b.batch_id.endswith("-redelivery")]
    assert len(copies) > 5
    for c in copies:
        o = originals[(c.entity, c.partition_date, c.batch_id.removesuffix("-redelivery"))]
        assert render(c) == render(o) and render(c, "csv") == render(o, "csv")
        assert c.arrives_on >= o.arrives_on
        assert c.path.endswith("-redelivery.jsonl")


def test_late_batches_arrive_later_and_carry_newer_versions(faulty):
    late = [b for b in faulty if "-late-" in b.batch_id and not b.batch_id.endswith("redelivery")]
    assert {b.entity for b in late} == {"orders", "payments", "shipments"}
    for b in late:
        assert b.arrives_on > b.partition_date
        assert 2 <= (b.arrives_on - b.partition_date).days <= 20
        assert b.batch_id == f"batch-{b.partition_date:%Y%m%d}-late-{b.arrives_on:%Y%m%d}"
        updated = [v for v in b.table.column("updated_at").to_pylist() if is_valid_timestamp(v)]
        assert max(updated)[:10] <= b.arrives_on.isoformat()
    main = frame([b for b in faulty if b.batch_id.endswith("-main")], "orders")
    assert "returned" not in set(main.status)  # returns are only known later
    late_orders = frame([b for b in late if b.entity == "orders"], "orders")
    assert set(late_orders.status) == {"returned"}
    late_orders, main = late_orders.dropna(subset="order_id"), main.dropna(subset="order_id")
    newer = late_orders.merge(main, on="order_id", suffixes=("", "_main"))
    assert len(newer) > 0.9 * len(late_orders)
    assert (newer.updated_at > newer.updated_at_main).all()
    assert set(newer.status_main) == {"completed"}
    ships_main = frame([b for b in faulty if b.batch_id.endswith("-main")], "shipments")
    assert set(ships_main.status) == {"in_transit"} and ships_main.delivered_at.isna().all()
    ships_late = frame([b for b in late if b.entity == "shipments"], "shipments")
    assert set(ships_late.status) <= {"delivered", "lost", "returned"}
    assert ((ships_late.arrival_day - ships_late.folder_day).map(lambda d: d.days) <= 7).all()
    refunds = frame([b for b in late if b.entity == "payments"], "payments")
    assert set(refunds.status) == {"refunded"}


def test_customer_updates_are_newer_versions_with_a_change(faulty):
    customers = frame(faulty, "customers")
    customers = customers[~customers.batch_name.str.endswith("redelivery")]
    updates = customers[customers.signup_date < customers.folder_day.map(date.isoformat)]
    assert len(updates) > 100
    first = (
        customers.sort_values("updated_at").drop_duplicates("customer_id").set_index("customer_id")
    )
    for row in updates.head(300).itertuples():
        before = first.loc[row.customer_id]
        assert row.updated_at > before.updated_at
        assert (row.email, row.city, row.loyalty_tier) != (
            before.email,
            before.city,
            before.loyalty_tier,
        )
        assert (row.first_name, row.last_name, row.signup_date) == (
            before.first_name,
            before.last_name,
            before.signup_date,
        )


def test_customers_are_adults_with_a_birth_date_and_gender_that_never_change(faulty):
    """Birth dates put every customer at 18 to 85 on signup, the ages spread across the
    bands; a few leave birth date or gender out (null), and every version of a customer
    carries the same values."""
    customers = frame(faulty, "customers")
    per_customer = customers.groupby("customer_id")[["birth_date", "gender"]]
    assert (per_customer.nunique(dropna=False) == 1).all().all()
    first = customers.drop_duplicates("customer_id")
    born = first.dropna(subset=["birth_date"])
    signup = pd.to_datetime(born.signup_date)
    birth = pd.to_datetime(born.birth_date)
    # whole years on the signup day, as the marts count them
    age = (
        signup.dt.year
        - birth.dt.year
        - ((signup.dt.month * 100 + signup.dt.day) < (birth.dt.month * 100 + birth.dt.day))
    )
    assert age.between(18, 84).all()
    bands = pd.cut(age, [18, 25, 35, 45, 55, 65, 85], right=False).value_counts(normalize=True)
    assert (bands > 0.08).all()  # every band holds a fair share of the customers
    assert 0.03 < first.birth_date.isna().mean() < 0.10
    assert 0.02 < first.gender.isna().mean() < 0.07
    genders = first.gender.value_counts(normalize=True)
    assert set(genders.index) == {"female", "male", "other"}
    assert genders["female"] > genders["male"] > 0.3 > genders["other"] > 0


def _parsers(fmt: str):
    if fmt == "jsonl":
        return [
            lambda data: pd.read_json(io.BytesIO(data), lines=True),
            lambda data: pa_json.read_json(io.BytesIO(data)),
        ]
    return [
        lambda data: pd.read_csv(io.BytesIO(data)),
        lambda data: pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False),
        lambda data: pa_csv.read_csv(io.BytesIO(data)),
    ]


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_malformed_files_do_not_parse_and_the_others_do(faulty, fmt, tmp_path):
    malformed = [b for b in faulty if b.malformed]
    assert len(malformed) == FAULTY_DAYS
    assert all(b.faults.get("malformed_file") == 1 for b in malformed)
    for b in malformed:
        data = render(b, fmt)
        for parse in _parsers(fmt):
            with pytest.raises(Exception):  # noqa: B017 - any parser error is the point
                parse(data)
        data.decode("utf-8")  # broken, but still text
        if fmt == "jsonl":  # (DuckDB's CSV sniffer reads around broken CSV lines)
            path = tmp_path / "bad.jsonl"
            path.write_bytes(data)
            with pytest.raises(duckdb.Error):
                duckdb.sql(f"select * from read_json('{path}')").fetchall()
    for b in [b for b in faulty if not b.malformed][:40]:
        for parse in _parsers(fmt):
            assert len(parse(render(b, fmt))) == b.num_rows


def test_no_fault_of_any_kind_with_faultconfig_none(clean):
    assert FaultConfig.none() == FaultConfig(0, 0, False, 0, 0, 0)
    for b in clean:
        assert not b.faults and not b.malformed
        assert b.batch_id.endswith("-main") and b.arrives_on == b.partition_date
        if b.entity in FACTS and b.partition_date.day % 4 == 0:
            assert _bad_row_counts(b) == {}
            assert not b.table.to_pandas().astype(str).duplicated().any()
    customers = frame(clean, "customers")
    assert customers.customer_id.is_unique  # sign-ups only, no updates
    assert (customers.signup_date == customers.folder_day.map(date.isoformat)).all()
    orders = frame(clean, "orders")
    assert orders.order_id.is_unique and (orders.status == "returned").any()


# ----------------------------------------------------------------------------- I/O


def test_simulate_writes_in_arrival_order_and_follows_the_contract(tmp_path):
    config = SimulationConfig(seed=21, orders_per_day=60, faults=FaultConfig(malformed_files=0.3))
    zone = LocalLandingZone(root=str(tmp_path))
    start, days = OPENED + timedelta(days=30), 10
    summary = simulate(zone, config, start, days, progress=True)
    expected = {}
    for d in days_from(start, days):
        for b in simulate_day(config, d):
            expected[b.path] = b
    assert summary.files_written == len(summary.paths) == len(expected)
    assert sorted(summary.paths) == sorted(expected)
    assert sorted(f.path for f in zone.list_files()) == sorted(expected)
    arrivals = [expected[p].arrives_on for p in summary.paths]
    assert arrivals == sorted(arrivals)  # never a file before one that arrives earlier
    last = start + timedelta(days=days - 1)
    assert any(a > last for a in arrivals)  # late files beyond the range come at the end
    for arrival in set(arrivals):
        folders = [
            expected[p].partition_date for p in summary.paths if expected[p].arrives_on == arrival
        ]
        on_time = [f == arrival for f in folders]
        assert on_time == sorted(on_time, reverse=True)  # the day's own files come first
    for p in summary.paths:
        assert parse_landing_path(p).entity == expected[p].entity
        assert zone.read_bytes(p) == render(expected[p])
    written_rows = defaultdict(int)
    for b in expected.values():
        written_rows[b.entity] += b.num_rows
    assert summary.rows_per_entity == dict(written_rows)
    assert summary.order_lines == sum(
        b.num_rows - b.faults.get("duplicate_rows", 0)
        for b in expected.values()
        if b.entity == "order_items" and b.batch_id.endswith("-main")
    )
    assert summary.fault_counts["late_file"] > 0 and summary.bytes_written > 0


def test_another_interpreter_writes_the_same_bytes(tmp_path, monkeypatch):
    """A fresh interpreter (other str hashing) writes byte-identical files: the CLI, the
    simulate_day job and make demo run in their own processes and continue each other."""
    monkeypatch.setenv("PYTHONHASHSEED", "12345")
    config = SimulationConfig(seed=4, orders_per_day=50, fmt="csv")
    start = OPENED + timedelta(days=2)
    here = LocalLandingZone(root=str(tmp_path / "here"))
    there = LocalLandingZone(root=str(tmp_path / "there"))
    written = simulate(here, config, start, 3)
    code = (
        "import sys\n"
        "from datetime import date\n"
        "from retail_platform.lib.landing_zone import LocalLandingZone\n"
        "from retail_platform.lib.simulator import SimulationConfig, simulate\n"
        "config = SimulationConfig(seed=4, orders_per_day=50, fmt='csv')\n"
        "simulate(LocalLandingZone(root=sys.argv[1]), config, date.fromisoformat(sys.argv[2]), 3)\n"
    )
    subprocess.run(
        [sys.executable, "-c", code, there.root, start.isoformat()], cwd=PROJECT_ROOT, check=True
    )
    assert sorted(f.path for f in there.list_files()) == sorted(written.paths)
    assert all(p.endswith(".csv") for p in written.paths)
    assert all(here.read_bytes(p) == there.read_bytes(p) for p in written.paths)


def _day_batches(config: SimulationConfig, day: date) -> list[LandingBatch]:
    return [b for b in simulate_day(config, day) if not b.malformed]


def _text(value) -> str:
    """How a value is expected to appear in a CSV field."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, Decimal):  # shortest exact form: 19.90 -> 19.9, 5.00 -> 5
        return format(value.normalize(), "f")
    return str(value)


def _parse_schema(entity: str) -> pa.Schema:
    kinds = {"int": pa.int64(), "decimal": pa.float64(), "rate": pa.float64(), "bool": pa.bool_()}
    return pa.schema([(c, kinds.get(k, pa.string())) for c, k in ENTITIES[entity].columns])


def test_jsonl_and_csv_carry_the_same_values():
    config = SimulationConfig(seed=9, orders_per_day=120)
    batches = _day_batches(config, OPENED) + _day_batches(config, OPENED + timedelta(days=4))
    assert {b.entity for b in batches} == set(ENTITIES)
    for b in batches:
        schema = _parse_schema(b.entity)
        from_json = pa_json.read_json(
            io.BytesIO(render(b, "jsonl")),
            parse_options=pa_json.ParseOptions(explicit_schema=schema),
        )
        from_csv = pa_csv.read_csv(
            io.BytesIO(render(b, "csv")),
            convert_options=pa_csv.ConvertOptions(column_types=schema, strings_can_be_null=True),
        )
        assert from_json.column_names == from_csv.column_names == b.table.column_names
        assert from_csv.equals(from_json), b.path
        # and both are the generated values: decimals compare exactly via their text
        for col in b.table.column_names:
            original = b.table.column(col).to_pylist()
            parsed = from_json.column(col).to_pylist()
            if pa.types.is_decimal(b.table.schema.field(col).type):
                assert [Decimal(str(v)) for v in parsed] == original, (b.path, col)
            else:
                assert parsed == original, (b.path, col)
        as_csv = pd.read_csv(io.BytesIO(render(b, "csv")), dtype=str, keep_default_na=False)
        for col in b.table.column_names:
            expected = [_text(v) for v in b.table.column(col).to_pylist()]
            assert as_csv[col].tolist() == expected, (b.path, col)
        # money is written in its shortest exact form, identically in both formats
        for field, kind in ENTITIES[b.entity].columns:
            if kind in ("decimal", "rate"):
                in_json = re.findall(rf'"{field}":([^,}}]+)', render(b, "jsonl").decode())
                assert (
                    in_json
                    == as_csv[field].tolist()
                    == [_text(v) for v in b.table.column(field).to_pylist()]
                )


def test_rendering_details():
    config = SimulationConfig(seed=9, orders_per_day=120, faults=FaultConfig.none())
    batches = _day_batches(config, OPENED + timedelta(days=1))
    for b in batches:
        data = render(b, "jsonl")
        assert data.endswith(b"\n") and b"\r" not in data
        lines = data.decode("utf-8").split("\n")[:-1]
        assert len(lines) == b.num_rows
        first = json.loads(lines[0], object_pairs_hook=list)
        assert [k for k, _ in first] == b.table.column_names
        for field, kind in ENTITIES[b.entity].columns:
            values = [json.loads(line)[field] for line in lines[:50]]
            if kind in ("decimal", "rate"):
                assert all(isinstance(v, (int, float)) for v in values)
                text = re.findall(rf'"{field}":(-?[0-9.]+)', data.decode())
                assert all(re.fullmatch(r"-?\d+(\.\d{1,2})?", t) for t in text)
            elif kind == "bool":
                assert all(isinstance(v, bool) for v in values)
            elif kind == "int":
                assert all(isinstance(v, int) for v in values)
            else:
                assert all(v is None or isinstance(v, str) for v in values)
        text = render(b, "csv").decode("utf-8")
        assert text.split("\n", 1)[0] == ",".join(b.table.column_names)
        assert "\r" not in text and text.endswith("\n")
    ships = next(b for b in batches if b.entity == "shipments")
    csv_rows = list(csv.DictReader(io.StringIO(render(ships, "csv").decode())))
    assert {r["damaged"] for r in csv_rows} <= {"true", "false"}
    orders = next(b for b in batches if b.entity == "orders")
    assert b'"employee_id":null' in render(orders, "jsonl")
    in_csv = list(csv.DictReader(io.StringIO(render(orders, "csv").decode())))
    online = [r for r in in_csv if r["channel"] == "online"]
    assert online and all(r["employee_id"] == "" for r in online)


def test_free_text_is_escaped_in_both_formats():
    tricky = ['Smith, "Jr"', "back\\slash", "multi\nline", "tab\there", "Zoë Ñúñez"]
    schema = pa.schema([(c, pa.string()) for c in ENTITIES["stores"].column_names])
    table = pa.table(
        {
            "store_id": [f"S{i:02d}" for i in range(len(tricky))],
            "name": tricky,
            "city": ["A,B"] * len(tricky),
            "region": [None] + ["West"] * (len(tricky) - 1),
            "opened_on": ["2020-01-01"] * len(tricky),
            "transaction_date": ["2025-01-01"] * len(tricky),
            "updated_at": ["2025-01-01T00:00:00Z"] * len(tricky),
        },
        schema=schema,
    )
    batch = LandingBatch("stores", OPENED, "batch-20250101-main", OPENED, table)
    rows = [json.loads(line) for line in render(batch, "jsonl").decode().splitlines()]
    assert [r["name"] for r in rows] == tricky and rows[0]["region"] is None
    parsed = list(csv.reader(io.StringIO(render(batch, "csv").decode(), newline="")))
    assert [r[1] for r in parsed[1:]] == tricky
    assert parsed[1][3] == "" and parsed[2][3] == "West"
