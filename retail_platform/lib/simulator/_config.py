"""What to simulate: the shop's world and volume (``SimulationConfig``) and what goes
wrong at its sources (``FaultConfig``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from retail_platform.lib.simulator._render import FORMATS

#: The one default volume (average orders a day) of ``make demo``, ``retail-platform
#: simulate`` and the ``simulate_day`` job, and the volume their world is sized for.
DEFAULT_ORDERS_PER_DAY = 200


@dataclass(frozen=True)
class FaultConfig:
    """What goes wrong at the sources. Rates are shares (0..1); each fault is recorded
    in ``LandingBatch.faults``:

    - ``duplicate_rows``: rows of a fact file repeated exactly, the copies at the end of
      the file (``faults["duplicate_rows"]``).
    - ``redelivered_files``: batches delivered a second time, byte-identical, as
      ``<batch_id>-redelivery`` arriving 0-2 days after the original
      (``faults == {"redelivered_file": 1}``; malformed batches are never re-delivered).
    - ``late_files``: returns, refunds and shipment outcomes arrive in late batches
      (``faults["late_file"] = 1``). Off: the main batch carries the final versions.
    - ``customer_updates``: daily share of active customers whose email, city or
      loyalty tier changes; the new version lands in that day's customers file
      (``faults["customer_updates"]`` = rows).
    - ``bad_rows``: fact rows made invalid, one reason per row
      (``faults["bad_rows:<reason>"]``; reasons per entity in ``BAD_REASONS``).
    - ``malformed_files``: probability per day that one of that day's batches
      (main or late) renders as an unparseable file (``malformed=True``,
      ``faults["malformed_file"] = 1``).
    """

    duplicate_rows: float = 0.005  # share of rows in a fact file repeated exactly (same file)
    redelivered_files: float = 0.02  # share of batches delivered again as "<batch>-redelivery"
    late_files: bool = True  # returns / shipment outcomes arrive in later batches
    customer_updates: float = 0.01  # share of active customers changing on a day
    bad_rows: float = 0.002  # share of fact rows made invalid (one reason per row)
    malformed_files: float = 0.0  # probability per day that one of the day's files is broken

    def __post_init__(self) -> None:
        for name in (
            "duplicate_rows", "redelivered_files", "customer_updates", "bad_rows", "malformed_files"
        ):  # fmt: skip
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:  # also refuses nan
                raise ValueError(f"FaultConfig.{name} is a share between 0 and 1, got {value!r}")

    @classmethod
    def none(cls) -> FaultConfig:
        """A perfect source: no fault of any kind, no late batches."""
        return cls(
            duplicate_rows=0.0,
            redelivered_files=0.0,
            late_files=False,
            customer_updates=0.0,
            bad_rows=0.0,
            malformed_files=0.0,
        )


@dataclass(frozen=True)
class SimulationConfig:
    """``orders_per_day`` is the average (weekdays, holidays and noise vary it; ~3
    order lines per order); ``opened_on`` is the first day with data.

    ``world_orders_per_day`` is the average volume the world is sized for: the customer
    base and its daily sign-ups, and stock levels (``None``: ``orders_per_day``). Like
    ``seed`` and ``opened_on`` it identifies the world: days that share the three can be
    simulated at any ``orders_per_day`` each and refer only to what landed before them
    or lands with them (a busier day brings more orders from the same customers)."""

    seed: int = 42
    orders_per_day: int = DEFAULT_ORDERS_PER_DAY
    opened_on: date = date(2025, 1, 1)
    fmt: str = "jsonl"
    faults: FaultConfig = field(default_factory=FaultConfig)
    world_orders_per_day: int | None = None

    def __post_init__(self) -> None:
        if self.fmt not in FORMATS:
            raise ValueError(f"fmt must be one of {FORMATS}, got {self.fmt!r}")
        if self.orders_per_day < 0:
            raise ValueError("orders_per_day must be >= 0")
        if self.world_orders_per_day is not None and self.world_orders_per_day < 0:
            raise ValueError("world_orders_per_day must be >= 0")

    @property
    def world_volume(self) -> int:
        """The volume the world is sized for (``world_orders_per_day`` or ``orders_per_day``)."""
        if self.world_orders_per_day is None:
            return self.orders_per_day
        return self.world_orders_per_day
