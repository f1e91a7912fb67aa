"""``retail-platform``: the simulator and the headless demo, from the command line.

A mistake of the person at the keyboard (a bad date, a rate outside 0..1, a landing
zone that cannot be written, no Google credentials for a ``gs://`` landing zone) ends
the command with exit status 2 and one line on stderr that says what is wrong and what
to do, never a traceback."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import NoReturn

PROG = "retail-platform"
USAGE_ERROR = 2


class UserError(Exception):
    """Something the user can fix; the message is the one line printed."""


class _Parser(argparse.ArgumentParser):
    """argparse, but an error is one line (no usage block) that points at ``--help``."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _Help(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's default in --help; required options and flags say so instead."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.required or action.default is None or action.default is False:
            return text
        return super()._get_help_string(action)


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected YYYY-MM-DD (a real date, e.g. 2025-05-01), got {value!r}"
        ) from None


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, got {value!r}")
    return number


def _rate(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not 0.0 <= number <= 1.0:  # also false for nan
        raise argparse.ArgumentTypeError(
            f"expected a share between 0 and 1 (e.g. 0.05), got {value!r}"
        )
    return number


def _seed(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None


def build_parser() -> argparse.ArgumentParser:
    from retail_platform.demo import DEFAULT_DAYS
    from retail_platform.lib.simulator import DEFAULT_ORDERS_PER_DAY
    from retail_platform.lib.targets import landing_uri

    parser = _Parser(prog=PROG, description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    sim = commands.add_parser(
        "simulate",
        help="write simulated source files into a landing zone",
        description="Write simulated source files into a landing zone. Days after the ones "
        "that landed continue the same shop at any --orders-per-day: a busier day brings more "
        "orders from the customers who signed up by then, never customers that did not land. "
        "In an empty landing zone a new shop opens on --start.",
        formatter_class=_Help,
    )
    sim.add_argument(
        "--start", type=_date, required=True, help="first transaction_date, YYYY-MM-DD (required)"
    )
    sim.add_argument("--days", type=_positive, default=1, help="days to simulate")
    sim.add_argument(
        "--orders-per-day", type=_positive, default=DEFAULT_ORDERS_PER_DAY,
        help="average orders a day (weekdays, holidays and noise vary it; ~3 lines an order)",
    )  # fmt: skip
    sim.add_argument("--seed", type=_seed, default=42, help="same seed, same files")
    sim.add_argument(
        "--landing", default=landing_uri(),
        help="landing zone: a folder or gs://bucket/prefix (RETAIL_LANDING)",
    )  # fmt: skip
    sim.add_argument("--format", choices=("jsonl", "csv"), default="jsonl", help="file format")
    sim.add_argument("--no-faults", action="store_true", help="switch fault injection off")
    sim.add_argument(
        "--malformed-rate", type=_rate, default=0.0,
        help="probability per day (0..1) that one of the day's files is malformed",
    )  # fmt: skip
    sim.add_argument("--quiet", action="store_true", help="no progress bar")

    demo = commands.add_parser(
        "demo",
        help="simulate days and run every layer over them, churn model included",
        description="Simulate the days ending yesterday (UTC) into the landing zone and run "
        "full_backfill over them as one run. A landing zone that holds days already keeps "
        "them: they are reused, and continued up to yesterday. The data's first day becomes "
        "the first partition (unless RETAIL_START_DATE is set).",
        formatter_class=_Help,
    )
    demo.add_argument(
        "--start", type=_date, default=None,
        help="first day, YYYY-MM-DD (default: the DAYS days ending yesterday, UTC)",
    )  # fmt: skip
    demo.add_argument("--days", type=_positive, default=DEFAULT_DAYS, help="days to run over")
    demo.add_argument(
        "--orders-per-day", type=_positive, default=DEFAULT_ORDERS_PER_DAY,
        help="average orders a day",
    )  # fmt: skip
    demo.add_argument("--seed", type=_seed, default=42, help="same seed, same files")
    return parser


# ----------------------------------------------------------------------------- landing zone


def _gcs_credentials_problem() -> str | None:
    """Why no Google client could authenticate, or None (an emulator needs nothing)."""
    if os.environ.get("STORAGE_EMULATOR_HOST"):
        return None
    from retail_platform.lib.gcp_credentials import CREDENTIALS_ENV, CredentialsError, decode_key

    if os.environ.get(CREDENTIALS_ENV):
        try:
            decode_key(os.environ[CREDENTIALS_ENV])
        except CredentialsError as error:
            return str(error)
        return None
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        google.auth.default()
    except DefaultCredentialsError:
        return (
            "no Google Cloud credentials: set GOOGLE_APPLICATION_CREDENTIALS to a "
            "service-account key file, or GCP_CREDENTIALS to its content (base64), or run "
            "`gcloud auth application-default login`"
        )
    return None


def _open_landing(uri: str, option: str = "--landing"):
    """The landing zone at ``uri`` (given as ``option``), checked before any day is
    generated."""
    from retail_platform.lib.landing_zone import GCSLandingZone, landing_zone_from_uri

    if uri.startswith("gs://"):
        try:
            zone = landing_zone_from_uri(uri)
        except ValueError:
            raise UserError(f"{option} {uri}: expected gs://BUCKET[/PREFIX]") from None
        problem = _gcs_credentials_problem()
        if problem:
            raise UserError(f"cannot write to {option} {uri}: {problem}")
        credentials = os.environ.get("GCP_CREDENTIALS") or None
        if credentials and not os.environ.get("STORAGE_EMULATOR_HOST"):
            zone = GCSLandingZone(
                bucket=zone.bucket, prefix=zone.prefix, gcp_credentials=credentials
            )
        _check_bucket(zone, option)
        return zone
    root = Path(uri).expanduser()
    what_to_do = "give --landing (or RETAIL_LANDING) a folder you can write to"
    try:
        root.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UserError(f"{option} {uri} is a file, not a folder: {what_to_do}") from None
    except OSError as error:
        raise UserError(f"cannot create {option} {uri} ({error.strerror}): {what_to_do}") from None
    if not root.is_dir():
        raise UserError(f"{option} {uri} is not a folder: {what_to_do}")
    if not os.access(root, os.W_OK | os.X_OK):
        raise UserError(f"cannot write to {option} {uri} (permission denied): {what_to_do}")
    return landing_zone_from_uri(str(root))


def _check_bucket(zone, option: str) -> None:
    """One listing call, one attempt (a client would retry for two minutes): the bucket
    exists and these credentials reach it."""
    bucket = zone._bucket()
    try:
        blobs = bucket.client.list_blobs(
            bucket, prefix=zone.prefix.strip("/"), max_results=1, timeout=20, retry=None
        )
        next(iter(blobs), None)
    except Exception as error:  # google.api_core / transport errors: their kind is the message
        raise UserError(f"cannot reach {option} {zone.uri()}: {_one_line(error)}") from None


def _one_line(error: BaseException) -> str:
    from google.api_core import exceptions as api

    if isinstance(error, api.NotFound):
        return "the bucket does not exist: create it or fix the name"
    if isinstance(error, api.Forbidden | api.Unauthorized):
        return "permission denied: grant these credentials roles/storage.objectAdmin on the bucket"
    import requests

    if isinstance(error, requests.ConnectionError | requests.Timeout):
        host = os.environ.get("STORAGE_EMULATOR_HOST") or "storage.googleapis.com"
        return f"no connection to {host} ({type(error).__name__}): check the network and retry"
    text = " ".join(str(error).split())[:160]
    return f"{type(error).__name__}: {text} (check the bucket name and the network)"


# ----------------------------------------------------------------------------- commands


def run_simulate(args: argparse.Namespace) -> int:
    from retail_platform.lib.simulator import (
        DEFAULT_ORDERS_PER_DAY,
        FaultConfig,
        SimulationConfig,
        history_problem,
        opening_day,
        simulate,
    )

    faults = FaultConfig.none() if args.no_faults else FaultConfig(
        malformed_files=args.malformed_rate
    )  # fmt: skip
    zone = _open_landing(args.landing)
    config = SimulationConfig(
        seed=args.seed,
        orders_per_day=args.orders_per_day,
        opened_on=opening_day(zone, args.start),  # the shop that landed, or a new one
        fmt=args.format,
        faults=faults,
        world_orders_per_day=DEFAULT_ORDERS_PER_DAY,
    )
    problem = history_problem(zone, config, args.start)
    if problem:
        raise UserError(f"--start {args.start}: {problem}")
    try:
        summary = simulate(zone, config, start=args.start, days=args.days, progress=not args.quiet)
    except OSError as error:  # e.g. the disk filled up while writing
        raise UserError(
            f"writing to --landing {zone.uri()} failed ({error.strerror or error}): free space "
            "or fix permissions, then run the same command again (same files)"
        ) from None
    except Exception as error:
        if not zone.uri().startswith("gs://"):
            raise
        raise UserError(  # an upload failed: a Google API or transport error
            f"writing to --landing {zone.uri()} failed: {_one_line(error)}; then run the same "
            "command again (same files)"
        ) from None
    print(f"landing zone: {zone.uri()}")
    print(summary)
    first = _first_partition()
    if args.start < first:
        print(
            f"note: the partitions start on {first}: days before it are not loaded (the "
            f"landing sensor quarantines their files); set RETAIL_START_DATE={args.start} for them"
        )
    return 0


def _first_partition() -> date:
    """The first partition the code location would have (lib/partitions.py)."""
    try:
        from retail_platform.lib.partitions import resolve_start_date

        return date.fromisoformat(resolve_start_date()[0])
    except ValueError as error:  # RETAIL_START_DATE, or data/demo.json, is not a date
        raise UserError(str(error)) from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "simulate":
            return run_simulate(args)
        from retail_platform.demo import DemoError, run_demo
        from retail_platform.lib.targets import landing_uri

        _open_landing(landing_uri(), option="RETAIL_LANDING")
        _first_partition()  # a RETAIL_START_DATE that is no date says so before any work
        try:
            return run_demo(start=args.start, days=args.days,
                            orders_per_day=args.orders_per_day, seed=args.seed)  # fmt: skip
        except DemoError as error:
            raise UserError(str(error)) from None
    except UserError as error:
        print(f"{PROG} {args.command}: error: {error}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
