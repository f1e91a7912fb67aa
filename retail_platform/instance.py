"""The local Dagster instance that `make dev` and `make demo` share."""

from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path

from retail_platform.lib.targets import data_dir

INSTANCE_TEMPLATE = Path(__file__).with_name("dagster.yaml")


def dagster_home() -> Path:
    """``$DAGSTER_HOME``, or ``data/dagster_home``; created with our dagster.yaml."""
    home = Path(os.environ.get("DAGSTER_HOME") or data_dir() / "dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        shutil.copyfile(INSTANCE_TEMPLATE, config)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def warehouse_status(database: str) -> str:
    """What `make dev` says before the UI starts: what the local warehouse holds, or how
    to fill it."""
    path = Path(database)
    span = _sales_span(path) if path.exists() else None
    if span:
        return f"warehouse {path} holds sales from {span[0]} to {span[1]}."
    return (
        f"warehouse {path} is empty. To load demo data: `make demo` (simulates 120 days "
        "and runs every layer, a few minutes), or in the UI launch `simulate_day` for a "
        "few partitions: the landing sensor then loads each day through every layer."
    )


def _sales_span(path: Path) -> tuple[date, date] | None:
    import duckdb

    with duckdb.connect(str(path), read_only=True) as connection:
        try:
            first, last = connection.execute(
                "SELECT min(transaction_date), max(transaction_date) "
                "FROM retail_marts.agg_daily_sales"
            ).fetchone()
        except duckdb.CatalogException:  # no marts built yet
            return None
    return (first, last) if first else None


if __name__ == "__main__":  # `make dev`, before the UI starts
    from retail_platform.lib.targets import duckdb_path

    print(f"DAGSTER_HOME={dagster_home()}")
    print(warehouse_status(duckdb_path()))
