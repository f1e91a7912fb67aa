"""``retail-platform``: the simulator and the headless demo, from the command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {value!r}") from None


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return number


def build_parser() -> argparse.ArgumentParser:
    from retail_platform.lib.targets import landing_uri

    parser = argparse.ArgumentParser(prog="retail-platform", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    sim = commands.add_parser("simulate", help="write simulated source files into a landing zone")
    sim.add_argument("--start", type=_date, required=True, help="first transaction_date")
    sim.add_argument("--days", type=_positive, default=1)
    sim.add_argument("--orders-per-day", type=_positive, default=500)
    sim.add_argument("--seed", type=int, default=42)
    sim.add_argument(
        "--landing", default=None, help=f"folder or gs://bucket/prefix [{landing_uri()}]"
    )
    sim.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    sim.add_argument("--no-faults", action="store_true", help="switch fault injection off")
    sim.add_argument("--malformed-rate", type=float, default=0.0,
                     help="probability per day of one malformed file")  # fmt: skip
    sim.add_argument("--quiet", action="store_true", help="no progress bar")

    demo = commands.add_parser(
        "demo", help="simulate days and run every layer over them, churn model included"
    )
    demo.add_argument("--start", type=_date, default=None, help="first day [RETAIL_START_DATE]")
    # 120 days: 60 days of features before the training cutoff + the 60-day churn label window.
    demo.add_argument("--days", type=_positive, default=120)
    demo.add_argument("--orders-per-day", type=_positive, default=200)
    demo.add_argument("--seed", type=int, default=42)
    return parser


def run_simulate(args: argparse.Namespace) -> int:
    from retail_platform.lib.landing_zone import landing_zone_from_uri
    from retail_platform.lib.simulator import FaultConfig, SimulationConfig, simulate
    from retail_platform.lib.targets import landing_uri

    faults = FaultConfig.none() if args.no_faults else FaultConfig(
        malformed_files=args.malformed_rate
    )  # fmt: skip
    config = SimulationConfig(
        seed=args.seed, orders_per_day=args.orders_per_day, fmt=args.format, faults=faults
    )
    zone = landing_zone_from_uri(args.landing or landing_uri())
    summary = simulate(zone, config, start=args.start, days=args.days, progress=not args.quiet)
    print(f"landing zone: {zone.uri()}")
    print(summary)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "simulate":
        return run_simulate(args)
    from retail_platform.demo import run_demo

    return run_demo(start=args.start, days=args.days, orders_per_day=args.orders_per_day,
                    seed=args.seed)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
