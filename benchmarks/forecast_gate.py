"""How often the sales forecast's gate passes, over many days of simulated shops.

    python -m benchmarks.forecast_gate            # the three shops of docs/ml.md, ~10 min
    python -m benchmarks.forecast_gate --quick    # one shop, a few days (the test)

The gate (lib/forecast/metrics.py) is judged on a backtest; on a noisy series a good model
can lose to the seasonal-naive forecast by a month's luck, and a shop's forecast retrain
would then fail on those days. This replays the local engine's whole version (every
backtest origin, the forecast) on a window of ``--window`` days ending on every day from
``--first-end`` to ``--last-end`` and prints how often the gate passed, the worst MASE, and
the failures by month.

The history is each day's completed orders' amounts per store, straight from the
simulator's arrays: the shape of ``retail_ml.daily_net_revenue`` (the same days, orders,
prices and noise) without the platform's run, so a thousand windows take minutes; refunds
and late returns, which the contract's net revenue subtracts, are left out.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from retail_platform.lib.forecast.backtest import forecast_version
from retail_platform.lib.forecast.engine import SklearnForecastEngine
from retail_platform.lib.forecast.metrics import TOTAL
from retail_platform.lib.simulator._sales import COMPLETED, sales
from retail_platform.lib.simulator._world import get_world
from retail_platform.lib.warehouse import Warehouse


@dataclass(frozen=True)
class Shop:
    name: str
    seed: int
    orders_per_day: int
    window: int  # days of history each version sees


#: make demo's shop (two seeds) and make bench's year (docs/ml.md).
SHOPS = (
    Shop("demo, seed 42", 42, 200, 120),
    Shop("demo, seed 11", 11, 200, 120),
    Shop("bench year, seed 7", 7, 10_000, 365),
)
OPENED_ON = date(2024, 6, 1)


class NoWarehouse(Warehouse):
    """The local engine forecasts the history it is given and queries nothing."""

    def frame(self, sql, parameters=()):
        raise AssertionError(f"the local engine queried the warehouse: {sql}")


def daily_history(shop: Shop, last: date) -> pd.DataFrame:
    """store_id, transaction_date, net_revenue per store and in total, every day from the
    shop's opening to ``last``."""
    world = get_world(shop.seed, OPENED_ON, shop.orders_per_day)
    days = (last - OPENED_ON).days + 1
    world.customers.ensure(days + 1)
    rows = []
    for t in range(days):
        day_sales = sales(world, t)
        completed = day_sales.final_status == COMPLETED
        stores = day_sales.orders.store[completed]
        cents = day_sales.lines.order_cents[completed]
        per_store = np.bincount(stores, weights=cents, minlength=world.n_stores) / 100
        day = world.day(t)
        rows += [(f"S{s}", day, float(v)) for s, v in enumerate(per_store)]
        rows.append((TOTAL, day, float(per_store.sum())))
    return pd.DataFrame(rows, columns=["store_id", "transaction_date", "net_revenue"])


def replay(shop: Shop, history: pd.DataFrame, first_end: date, last_end: date) -> pd.DataFrame:
    """One version per window end: end, passed, total MASE, latest origin's MASE."""
    engine, warehouse = SklearnForecastEngine(), NoWarehouse()
    results = []
    end = first_end
    while end <= last_end:
        first = end - timedelta(days=shop.window - 1)
        window = history[history["transaction_date"].between(first, end)]
        window = window[window.groupby("store_id")["net_revenue"].transform("sum") > 0]
        backtest = forecast_version(engine, warehouse, window, "v").backtest
        results.append(
            (end, backtest.passed, backtest.total.mase, backtest.total.latest_origin_mase)
        )
        end += timedelta(days=1)
    return pd.DataFrame(results, columns=["end", "passed", "mase", "latest_origin_mase"])


def summary(shop: Shop, replayed: pd.DataFrame) -> dict[str, object]:
    failed = replayed[~replayed["passed"]]
    worst = replayed.loc[replayed["mase"].idxmax()]
    return {
        "shop": shop.name,
        "windows": len(replayed),
        "passed_percent": round(100 * float(replayed["passed"].mean()), 1),
        "mean_mase": round(float(replayed["mase"].mean()), 3),
        "worst_mase": round(float(worst["mase"]), 3),
        "worst_end": worst["end"].isoformat(),
        "latest_origin_alone_fails_percent": round(
            100 * float((replayed["latest_origin_mase"] >= 1).mean()), 1
        ),
        "failures_by_month": failed.groupby([e.strftime("%Y-%m") for e in failed["end"]])
        .size()
        .to_dict(),
    }


def main(argv: list[str] | None = None) -> list[dict[str, object]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one shop, a few windows")
    parser.add_argument("--first-end", type=date.fromisoformat, default=date(2025, 8, 1))
    parser.add_argument("--last-end", type=date.fromisoformat, default=date(2027, 1, 20))
    args = parser.parse_args(argv)
    shops = SHOPS[:1] if args.quick else SHOPS
    first_end = date(2025, 1, 1) if args.quick else args.first_end
    last_end = first_end + timedelta(days=2) if args.quick else args.last_end
    figures = []
    for shop in shops:
        started = time.perf_counter()
        history = daily_history(shop, last_end)
        replayed = replay(shop, history, first_end, last_end)
        figures.append(summary(shop, replayed) | {"seconds": round(time.perf_counter() - started)})
        print(figures[-1], flush=True)
    return figures


if __name__ == "__main__":
    main()
