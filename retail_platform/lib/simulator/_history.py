"""Continuing what landed: the day the zone's shop opened, and whether a simulation from
a given day would continue its history."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from retail_platform.lib.simulator._config import SimulationConfig

if TYPE_CHECKING:  # the landing zone module imports dagster; the simulator does not
    from retail_platform.lib.landing_zone import LandingZone


def opening_day(zone: LandingZone, start: date) -> date:
    """The day the shop whose files are in ``zone`` opened: the first day that landed there
    (it delivers the stores, staff and catalogue), or ``start`` in an empty zone, where a
    simulation opens a new shop. The ``opened_on`` of a config that continues ``zone``."""
    from retail_platform.lib.landing_zone import landed_span

    span = landed_span(zone)
    return span[0] if span else start


def history_problem(zone: LandingZone, config: SimulationConfig, start: date) -> str | None:
    """Why simulating from ``start`` into ``zone`` would not continue what landed there,
    or None. A day's orders refer to the stores, staff and catalogue of the opening day
    and to customers signed up on any day up to it, each delivered in its own day's
    files: a simulation starts on the opening day (``config.opened_on``, see
    ``opening_day``), or on the day after a day that landed (one listing of that day's
    folders)."""
    opened_on = config.opened_on
    if start < opened_on:
        return f"the simulated shop opens on {opened_on}: start on {opened_on} or later"
    if start == opened_on:
        return None
    before = start - timedelta(days=1)
    if next(iter(zone.list_files(day=before)), None) is None:
        return (
            f"{zone.uri()} holds no files for {before}: the customers who signed up on days "
            f"that did not land (and the stores, staff and catalogue, which land on the "
            f"opening day {opened_on}) would be missing; start the day after the last day "
            f"landed, or in an empty landing zone (a new shop opens on its first day)"
        )
    return None
