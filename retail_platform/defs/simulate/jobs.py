"""``simulate_day``: the source systems' delivery for one transaction_date, from the UI.

Pick a partition in the launchpad and the simulator writes that day's files into
the landing zone, exactly as ``retail-platform simulate --start DAY --days 1``
would (same default volume, same world: the shop whose files landed, e.g. ``make
demo``'s, and any ``orders_per_day`` continues the days that landed before, with the
same customers); the landing sensor then notices them. In an empty landing zone the day
opens a new shop. A partition that does not follow the landed days (nothing landed the
day before it) fails with a message that says which day to simulate instead.
"""

from datetime import date

import dagster as dg
from pydantic import Field

from retail_platform.lib.landing_zone import LandingZone
from retail_platform.lib.partitions import transaction_date_partitions
from retail_platform.lib.simulator import DEFAULT_ORDERS_PER_DAY


class SimulateDayConfig(dg.Config):
    seed: int = Field(default=42, description="Same seed and day give byte-identical files.")
    orders_per_day: int = Field(
        default=DEFAULT_ORDERS_PER_DAY,
        ge=1,
        description="Average orders that day; any volume continues the same customers.",
    )
    file_format: str = Field(default="jsonl", pattern="^(jsonl|csv)$")
    inject_faults: bool = Field(
        default=True, description="Duplicates, re-deliveries, late files, bad rows."
    )


@dg.op(description="Write one day of simulated source files into the landing zone.")
def write_simulated_day(
    context: dg.OpExecutionContext, config: SimulateDayConfig, landing_zone: LandingZone
) -> None:
    from retail_platform.lib.simulator import (
        FaultConfig,
        SimulationConfig,
        history_problem,
        opening_day,
        simulate,
    )

    day = date.fromisoformat(context.partition_key)
    settings = SimulationConfig(
        seed=config.seed,
        orders_per_day=config.orders_per_day,
        opened_on=opening_day(landing_zone, day),  # the shop that landed, or a new one
        fmt=config.file_format,
        faults=FaultConfig() if config.inject_faults else FaultConfig.none(),
        world_orders_per_day=DEFAULT_ORDERS_PER_DAY,  # the CLI's and make demo's world
    )
    problem = history_problem(landing_zone, settings, day)
    if problem:
        raise dg.Failure(description=f"not simulating {day}: {problem}", allow_retries=False)
    summary = simulate(landing_zone, settings, start=day, days=1)
    context.log.info(f"simulated {day} into {landing_zone.uri()}: {summary}")


@dg.job(
    name="simulate_day",
    partitions_def=transaction_date_partitions,
    description="Source simulator: write one transaction_date's files into the landing zone.",
    tags={"retail/kind": "simulator"},
)
def simulate_day_job() -> None:
    write_simulated_day()
