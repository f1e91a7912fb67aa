"""The local Dagster instance that `make dev` and `make demo` share."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from retail_platform.settings import settings, use_dagster_home

INSTANCE_TEMPLATE = Path(__file__).with_name("dagster.yaml")


def dagster_home() -> Path:
    """``$DAGSTER_HOME``, or ``data/dagster_home``, with our dagster.yaml: copied into a new
    home, and into an existing one whose copy differs (``refresh_instance_config``)."""
    current = settings()
    home = Path(current.dagster_home or current.data_dir / "dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    message = refresh_instance_config(home / "dagster.yaml")
    if message:
        print(message)
    use_dagster_home(home)
    return home


def refresh_instance_config(config: Path) -> str | None:
    """Make ``config`` the template's copy; what changed, when an older copy was replaced.

    The template is where the local instance's settings live: each one so far (the event
    log storage, freshness, freeing a dead run's concurrency slots, run monitoring and
    retries) fixed something that a home created before it silently went without. So a
    copy that differs is replaced, the old one kept beside it as ``dagster.yaml.bak``; a
    setting of your own belongs in the template (retail_platform/dagster.yaml). A file that
    is not a copy of ours (its first line differs) is left alone, with a warning."""
    template = INSTANCE_TEMPLATE.read_text()
    if not config.exists():
        config.write_text(template)
        return None
    current = config.read_text()
    if current == template:
        return None
    changed = _changed_sections(current, template)
    if current.splitlines()[:1] != template.splitlines()[:1]:  # not a copy of ours: warn only
        return (
            f"warning: {config} is not a copy of {INSTANCE_TEMPLATE} and differs from it "
            f"(sections: {', '.join(changed)}); it is left as it is."
        )
    backup = config.with_name(config.name + ".bak")
    shutil.copyfile(config, backup)
    config.write_text(template)
    return (
        f"{config}: replaced by {INSTANCE_TEMPLATE} (sections changed: "
        f"{', '.join(changed) or 'comments only'}); the old copy is {backup}."
    )


def _changed_sections(current: str, template: str) -> list[str]:
    import yaml

    try:
        old = yaml.safe_load(current) or {}
    except yaml.YAMLError:
        return ["(the old copy is not valid YAML)"]
    new = yaml.safe_load(template) or {}
    return sorted(key for key in {*old, *new} if old.get(key) != new.get(key))


def warehouse_status(database: str) -> str:
    """What `make dev` says before the UI starts: what the local warehouse holds, or how
    to fill it."""
    path = Path(database)
    span = _sales_span(path) if path.exists() else None
    if span:
        return f"warehouse {path} holds sales from {span[0]} to {span[1]}."
    return (
        f"warehouse {path} is empty. To load demo data: `make demo` (simulates the 120 days "
        "ending yesterday and runs every layer, a few minutes), or in the UI launch "
        "`simulate_day` for a few partitions: the landing sensor then loads each day through "
        "every layer."
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
    from retail_platform.lib.partitions import resolve_start_date
    from retail_platform.lib.targets import duckdb_path

    print(f"DAGSTER_HOME={dagster_home()}")
    print(warehouse_status(duckdb_path()))
    first, source = resolve_start_date()
    print(f"partitions: {first}..today ({source})")
