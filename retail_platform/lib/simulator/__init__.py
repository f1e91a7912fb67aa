"""A deterministic, fast and realistic simulator of the retail source systems.

It produces what the source systems deliver to the landing zone
(``<entity>/transaction_date=YYYY-MM-DD/<batch-id>.<jsonl|csv>``, see
``docs/contract.md``): stores, employees and the product catalogue on the opening
day, customers as they sign up (and change), product price changes, and every day
orders, order lines, payments, shipments and an inventory snapshot -- plus the
usual trouble (late files, re-deliveries, duplicate and invalid rows, malformed
files), each switchable through :class:`FaultConfig`. It never imports Dagster.

Determinism: ``simulate_day(config, day)`` is a pure function of ``config`` and
``day``. Every random stream is keyed by (seed, purpose, day, ...) and seed-only
state (name pools, catalogue, customer cohorts) is cached in-process, so a day's
files are byte-identical whichever other days were simulated, in whatever order.

One world, any volume: the world (stores, staff, catalogue, the customer base and
its sign-ups) is a function of (``seed``, ``opened_on``, ``world_orders_per_day``)
only; ``orders_per_day`` sets how many orders a day brings, drawn from the customers
signed up by that day. So a day simulated at another volume than the days before it
refers only to stores, employees, products and customers that landed by then or land
in that day's own files (a new customer arrives with its customer row). The
``retail-platform`` CLI, the ``simulate_day`` job and ``make demo`` all simulate the
world sized for ``DEFAULT_ORDERS_PER_DAY``, opened on the first day landed in the zone
(``opening_day``; an empty zone opens a shop on the first day simulated), so each continues
what the others landed.

The modules, from the API down (this package re-exports the API):

- ``_config``: ``SimulationConfig`` and ``FaultConfig``.
- ``_simulate``: ``simulate``, many days written to a landing zone in arrival order.
- ``_history``: ``opening_day`` and ``history_problem``, continuing what landed.
- ``_day``: ``simulate_day``, one day's batches with their faults and late versions.
- ``_batches``: ``LandingBatch``, batch ids, ``render`` (a batch's bytes).
- ``_dimensions``, ``_sales``, ``_inventory``: one day's tables of each kind.
- ``_world``: the seed-only state (stores, staff, catalogue, customers, stock levels).
- ``_faults``: bad and duplicate rows; ``_render``: tables to JSON Lines or CSV, and
  malformed files; ``_arrow``: numpy to Arrow columns; ``_calendar``: seasonality;
  ``_random``: the keyed random streams.
"""

from __future__ import annotations

from retail_platform.lib.entities import FACT_ENTITIES
from retail_platform.lib.simulator._arrow import SCHEMAS
from retail_platform.lib.simulator._batches import (
    LandingBatch,
    late_batch_id,
    main_batch_id,
    render,
)
from retail_platform.lib.simulator._config import (
    DEFAULT_ORDERS_PER_DAY,
    FaultConfig,
    SimulationConfig,
)
from retail_platform.lib.simulator._day import simulate_day
from retail_platform.lib.simulator._faults import BAD_REASONS, UNKNOWN_PRODUCT_ID
from retail_platform.lib.simulator._history import history_problem, opening_day
from retail_platform.lib.simulator._render import MALFORMED_VARIANTS
from retail_platform.lib.simulator._simulate import SimulationSummary, simulate

__all__ = [
    "BAD_REASONS",
    "DEFAULT_ORDERS_PER_DAY",
    "FACT_ENTITIES",
    "MALFORMED_VARIANTS",
    "SCHEMAS",
    "UNKNOWN_PRODUCT_ID",
    "FaultConfig",
    "LandingBatch",
    "SimulationConfig",
    "SimulationSummary",
    "history_problem",
    "main_batch_id",
    "opening_day",
    "late_batch_id",
    "render",
    "simulate",
    "simulate_day",
]
