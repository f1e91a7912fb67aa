"""``make demo``: the story of today.

It simulates the 120 days that end yesterday (UTC) into the landing zone, unless told other
days (``--start``, ``--days``), and runs every layer over them as one run (the
``full_backfill`` job: raw to marts, churn model trained and customers scored). Then the
UI's partitions are the data's days, freshness describes the data, and today's partition
(``end_offset=1``) is the next day of the same shop: a file landed today, or
``simulate_day`` for today, continues it.

The days, when the landing zone already holds a shop (``plan_demo``): its days are kept, never
rewritten with another shop's. The demo reuses them, and continues them up to yesterday when
they reach the 120-day window (a demo made last week gains the days since); an older demo
(e.g. of 2025) is run over as it is, with its own first day, and one line says how to start
afresh.

The first partition: the demo records the data's first day for the code location
(``lib/partitions.py``: ``data/demo.json``, unless ``RETAIL_START_DATE`` is set, which wins).

The run is created from the code location in workspace.yaml and launched as the UI launches
one (``retail_platform/launch.py``, in a child process), so the webserver lists it under
Jobs > full_backfill > Runs and on the Overview timeline. The terminal gets one line per
step, then what landed where, the churn model's metrics and how the checks went; Dagster's
debug stream (code server and run worker) goes to a log file whose path is printed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb

from retail_platform.instance import dagster_home
from retail_platform.lib.targets import PROJECT_ROOT, data_dir, duckdb_path, landing_uri
from retail_platform.settings import START_DATE_ENV, settings

# 60 days of features before the training cutoff + the 60-day churn label window.
DEFAULT_DAYS = 120
JOB = "full_backfill"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
POLL_SECONDS = 1.0
ANSI = re.compile(r"\x1b\[[0-9;]*m")  # the code server colours its log lines


class DemoError(Exception):
    """Days the demo cannot run over, said in one line that says what to do instead (the
    CLI prints it as a usage error)."""


# ----------------------------------------------------------------------------- the days


@dataclass(frozen=True)
class Window:
    """Consecutive days, both ends included."""

    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def __str__(self) -> str:
        return f"{self.first}..{self.last}"


def utc_today() -> date:
    return datetime.now(UTC).date()


def default_window(days: int, today: date) -> Window:
    """The ``days`` days that end yesterday (UTC): the last whole day. Today is a partition
    too (files landed today load as they arrive), but its day is not over."""
    last = today - timedelta(days=1)
    return Window(last - timedelta(days=days - 1), last)


@dataclass(frozen=True)
class Plan:
    """What the demo does: simulate ``simulate`` (None: nothing), then run over ``window``.
    ``opened_on`` is the data's first day (the shop's opening day); ``landed`` what the
    landing zone held before; ``earlier`` that it holds an older demo, run as it is."""

    window: Window
    simulate: Window | None
    opened_on: date
    landed: Window | None = None
    earlier: bool = False


def plan_demo(landed: Window | None, start: date | None, days: int, today: date) -> Plan:
    """The demo's days, given what the landing zone holds (``landed``, first to last day).

    Without ``start``: the ``days`` days ending yesterday. A landing zone that holds a shop
    keeps it (the simulator continues history; it cannot start a second shop beside it):
    if its days reach that window, or the day before it, they are continued up to yesterday;
    otherwise (an older demo) the run covers its last ``days`` days as they are.
    With ``start``: ``days`` days from it, continuing what landed (on or after its first day,
    no gap, not past today)."""
    if start is not None:
        return _plan_from(landed, Window(start, start + timedelta(days=days - 1)), today)
    window = default_window(days, today)
    if landed is None:
        return Plan(window, window, window.first, None)
    if landed.last >= window.first - timedelta(days=1):  # reaches the window: continue it
        first = max(window.first, landed.first)
        to_simulate = _after(landed, window.last)
        return Plan(Window(first, window.last), to_simulate, landed.first, landed)
    older = Window(max(landed.first, landed.last - timedelta(days=days - 1)), landed.last)
    return Plan(older, None, landed.first, landed, earlier=True)


def _after(landed: Window, last: date) -> Window | None:
    """The days after ``landed`` up to ``last``, if any."""
    first = landed.last + timedelta(days=1)
    return Window(first, last) if first <= last else None


def _plan_from(landed: Window | None, window: Window, today: date) -> Plan:
    if window.last > today:
        raise DemoError(
            f"--start {window.first} with --days {window.days} ends on {window.last}, after "
            f"today ({today}, UTC): start earlier or ask for fewer days"
        )
    if landed is None:
        return Plan(window, window, window.first, None)
    if window.first < landed.first:
        raise DemoError(
            f"--start {window.first}: the landing zone's shop opened on {landed.first}; start "
            f"on or after it, or move the landing zone aside for a new shop"
        )
    if window.first > landed.last + timedelta(days=1):
        raise DemoError(
            f"--start {window.first}: the landing zone holds {landed.first}..{landed.last} and "
            f"days cannot be skipped (customers sign up every day): start on or before "
            f"{landed.last + timedelta(days=1)}"
        )
    return Plan(window, _after(landed, window.last), landed.first, landed)


def _landed(zone) -> Window | None:
    from retail_platform.lib.landing_zone import landed_span

    span = landed_span(zone)
    return Window(*span) if span else None


def _plan_line(plan: Plan, start: date | None, zone_uri: str, today: date) -> str:
    """One line: which days, and what became of what the landing zone held."""
    days = f"{JOB} over {plan.window} ({plan.window.days} days"
    if start is None and plan.window.last == today - timedelta(days=1):
        days += ", ending yesterday, UTC"
    days += ")"
    landed = plan.landed
    if landed is None:
        return f"demo: {days}"
    if plan.earlier:
        return (
            f"demo: {days}: {zone_uri} holds an earlier demo, {landed}, which does not reach "
            f"yesterday: running over it as it is, from its own first day. To demo the days "
            f"ending yesterday instead: {_start_afresh(landed)}"
        )
    if plan.simulate is None:
        return f"demo: {days}: reusing {zone_uri}, which holds {landed}"
    return f"demo: {days}: continuing {zone_uri}, which holds {landed}"


def _start_afresh(landed: Window) -> str:
    """How to start afresh without losing anything: move the earlier demo aside."""
    folder = data_dir().resolve()
    landing, warehouse = landing_uri(), duckdb_path()
    if not landing.startswith("gs://") and all(
        Path(path).resolve().is_relative_to(folder) for path in (landing, warehouse)
    ):
        return f"`mv {folder} {folder}-{landed.first}`, then `make demo` again"
    return f"move the landing zone {landing} and the warehouse {warehouse} aside, then again"


def _check_start_date_env(plan: Plan) -> None:
    """An explicit RETAIL_START_DATE wins over the data's first day: it must not leave the
    demo's days outside the partitions."""
    value = settings().start_date
    if value is not None and date.fromisoformat(value) > plan.window.first:
        raise DemoError(
            f"{START_DATE_ENV}={value} is after the demo's first day {plan.window.first}, "
            f"which would be no partition: unset it (the demo makes the data's first day "
            f"the first partition) or set it to {plan.window.first} or earlier"
        )


# ----------------------------------------------------------------------------- simulate, record


def _simulate(zone, plan: Plan, orders_per_day: int, seed: int) -> None:
    from retail_platform.lib.simulator import (
        DEFAULT_ORDERS_PER_DAY,
        SimulationConfig,
        history_problem,
        simulate,
    )

    days = plan.simulate
    # the world of the CLI and the simulate_day job, so that they continue these days
    config = SimulationConfig(
        seed=seed,
        orders_per_day=orders_per_day,
        opened_on=plan.opened_on,
        world_orders_per_day=DEFAULT_ORDERS_PER_DAY,
    )
    problem = history_problem(zone, config, days.first)
    if problem:
        raise DemoError(problem)
    print(f"simulate: {days} ({days.days} days) into {zone.uri()} ...", end="", flush=True)
    try:
        summary = simulate(zone, config, start=days.first, days=days.days)
    except BaseException:
        print(flush=True)  # end the line: the error follows on its own
        raise
    print(
        f" {summary.files_written:,} files, {summary.orders:,} orders, "
        f"{summary.order_lines:,} order lines ({summary.seconds:.0f} s)"
    )


def _record_first_day(plan: Plan, zone_uri: str) -> None:
    from retail_platform.lib.partitions import record_data_start, resolve_start_date

    record_data_start(plan.opened_on, zone_uri)
    first, source = resolve_start_date()
    print(f"partitions: {first}..today ({source})")


def _log_file() -> Path:
    folder = data_dir().resolve() / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"demo-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.log"


# ----------------------------------------------------------------------------- the run


@dataclass
class RunProgress:
    """What the run reported so far, read from the event log; prints a line per step."""

    materializations: list = field(default_factory=list)
    evaluations: list = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    run_failure: str | None = None
    _assets: dict[str, set] = field(default_factory=dict)
    _days: dict[str, set] = field(default_factory=dict)
    _checks: dict[str, Counter] = field(default_factory=dict)

    def add(self, entry) -> None:
        event = entry.dagster_event
        if event is None:
            return
        step = event.step_key or ""
        if event.is_step_materialization:
            materialization = event.step_materialization_data.materialization
            self.materializations.append(materialization)
            self._assets.setdefault(step, set()).add(materialization.asset_key)
            if materialization.partition:
                self._days.setdefault(step, set()).add(materialization.partition)
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.asset_check_evaluation_data
            self.evaluations.append(evaluation)
            self._checks.setdefault(step, Counter())[_outcome(evaluation)] += 1
        elif event.is_step_success:
            seconds = event.step_success_data.duration_ms / 1000
            print(f"  done    {step:<42} {self._built(step)} ({seconds:.1f} s)", flush=True)
        elif event.is_step_failure:
            reason = _failure_reason(event.step_failure_data)
            self.failures.append(f"step {step} failed: {reason}")
            print(f"  FAILED  {step:<42} {reason}", flush=True)
        elif event.is_step_skipped:
            print(f"  skipped {step:<42} (a step it needs did not succeed)", flush=True)
        elif event.is_run_failure:
            self.run_failure = entry.user_message or "the run failed"

    def _built(self, step: str) -> str:
        """``raw/orders, 6 days; checks: 2 passed, 1 warned``, or ``21 assets (silver 11,
        gold 10)`` for a step that builds several."""
        assets = sorted(self._assets.get(step, set()), key=lambda key: key.path)
        parts = []
        if len(assets) == 1:
            parts.append(assets[0].to_user_string())
        elif assets:
            layers = Counter(key.path[0] for key in assets)
            parts.append(
                f"{len(assets)} assets ({', '.join(f'{k} {n}' for k, n in layers.items())})"
            )
        if self._days.get(step):
            parts[-1] += f", {len(self._days[step])} days"
        checks = self._checks.get(step, Counter())
        if checks:
            outcomes = ("passed", "warned", "failed")
            parts.append("checks: " + ", ".join(f"{checks[k]} {k}" for k in outcomes if checks[k]))
        return "; ".join(parts) or "-"


def _outcome(evaluation) -> str:
    if evaluation.passed:
        return "passed"
    return "warned" if evaluation.severity.value == "WARN" else "failed"


def _failure_reason(data) -> str:
    """The first line of what went wrong: a Failure's description, or the innermost error."""
    if data.user_failure_data is not None and data.user_failure_data.description:
        text = data.user_failure_data.description
    elif data.error is not None:
        error = data.error
        while error.cause is not None:
            error = error.cause
        text = error.message
    else:
        text = "no error recorded"
    text = " ".join(text.split())  # one line: dbt's messages span several
    return text if len(text) <= 240 else text[:237] + "..."


def _followed_events() -> set:
    from dagster import DagsterEventType as T

    return {
        T.STEP_SUCCESS, T.STEP_FAILURE, T.STEP_SKIPPED, T.ASSET_MATERIALIZATION,
        T.ASSET_CHECK_EVALUATION, T.RUN_FAILURE,
    }  # fmt: skip


def run_full_backfill(window: Window, log: Path) -> tuple[str, str | None, RunProgress]:
    """Launch ``full_backfill`` over ``window`` through the workspace, in a child process
    whose output goes to ``log``; print a line per step as the event log reports it.
    Returns the run's id, its status (None: it was never created) and what it reported."""
    from dagster import DagsterInstance

    run_id = str(uuid.uuid4())  # what Dagster's own run ids are
    tags = {RANGE_START_TAG: window.first.isoformat(), RANGE_END_TAG: window.last.isoformat()}
    command = [sys.executable, "-m", "retail_platform.launch", JOB, run_id, json.dumps(tags)]
    progress = RunProgress()
    with open(log, "ab") as output, DagsterInstance.get() as instance:
        child = subprocess.Popen(
            command, cwd=PROJECT_ROOT, stdin=subprocess.DEVNULL, stdout=output,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            _follow(instance, run_id, child, progress)
        finally:
            if child.poll() is None:  # interrupted: the run worker got the same signal
                child.terminate()
                child.wait(timeout=60)
        run = instance.get_run_by_id(run_id)
    return run_id, (run.status.value if run else None), progress


def _follow(instance, run_id: str, child: subprocess.Popen, progress: RunProgress) -> None:
    """Read the run's events until the child has exited and every event is read."""
    cursor, followed = None, _followed_events()
    while True:
        exited = child.poll() is not None  # before reading: the last read sees every event
        connection = instance.get_records_for_run(run_id, cursor=cursor, of_type=followed)
        for record in connection.records:
            progress.add(record.event_log_entry)
        cursor = connection.cursor or cursor
        if connection.has_more:
            continue
        if exited:
            return
        time.sleep(POLL_SECONDS)


# ----------------------------------------------------------------------------- the summary


def table_row_counts(database: str) -> list[tuple[str, int]]:
    with duckdb.connect(database, read_only=True) as connection:
        tables = connection.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema LIKE 'retail_%' ORDER BY 1, 2"
        ).fetchall()
        return [
            (f"{schema}.{table}",
             connection.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()[0])
            for schema, table in tables
        ]  # fmt: skip


def _metadata(materializations: Iterable, key: Sequence[str]) -> dict | None:
    """The metadata of the last materialization of ``key`` in the run."""
    found = None
    for materialization in materializations:
        if list(materialization.asset_key.path) == list(key):
            found = {k: v.value for k, v in materialization.metadata.items()}
    return found


def print_churn_model(materializations: Iterable) -> None:
    metadata = _metadata(materializations, ["ml", "churn_model"])
    if metadata:
        print(
            f"\nchurn model {metadata['model_version']} ({metadata['engine']}): "
            f"ROC AUC {metadata['roc_auc']:.3f} (floor {metadata['auc_floor']}), "
            f"precision {metadata['precision']:.3f}, recall {metadata['recall']:.3f}, "
            f"{metadata['rows_trained']:,} customers trained, cutoff {metadata['cutoff_date']}"
        )


def print_models(materializations: Iterable) -> None:
    """The churn model's, the forecast's and the recommender's gates, as the run ended."""
    print_churn_model(materializations)
    forecast = _metadata(materializations, ["ml", "sales_forecast_versions"])
    if forecast and forecast.get("model_version"):
        print(
            f"sales forecast {forecast['model_version']} ({forecast['engine']}): backtest "
            f"MASE {forecast['mase']:.3f} against the seasonal-naive forecast over "
            f"{forecast['backtest_origins']} weekly origins (the last 28 days alone "
            f"{forecast['latest_origin_mase']:.3f}), sMAPE {forecast['smape_percent']:.1f} %, "
            f"passed {forecast['passed_gate']}"
        )
    recommender = _metadata(materializations, ["ml", "product_recommendations"])
    if recommender and "hit_rate_at_10" in recommender:
        model, baseline = recommender["hit_rate_at_10"], recommender["popularity_hit_rate_at_10"]
        print(
            f"product recommendations {recommender['model_version']}: hit rate@10 {model:.3f} "
            f"vs {baseline:.3f} for the best-sellers ({recommender['customers_evaluated']:,} "
            f"customers, last {recommender['holdout_days']} days held out)"
        )


def print_dashboard(materializations: Iterable) -> None:
    """Where marts/dashboard wrote the HTML dashboard (the run's materialization says)."""
    metadata = _metadata(materializations, ["marts", "dashboard"])
    if metadata:
        print(
            f"dashboard ({metadata['charts']} charts, opens offline): "
            f"{metadata['dagster/uri']}\n  {metadata['open in a browser']}"
        )
    else:
        print("dashboard: not rendered in this run (see the failures above)")


def print_checks(evaluations) -> None:
    """A line per layer, then every check that did not pass."""
    by_layer: dict[str, list[int]] = {}
    for evaluation in evaluations:
        counts = by_layer.setdefault(evaluation.asset_key.path[0], [0, 0, 0])
        counts[0 if evaluation.passed else 1 if evaluation.severity.value == "WARN" else 2] += 1
    print("\nchecks (passed / warnings / errors)")
    for layer, (passed, warned, failed) in by_layer.items():
        print(f"  {layer:<10} {passed:>4} passed {warned:>4} warnings {failed:>4} errors")
    for evaluation in evaluations:
        if not evaluation.passed:
            name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
            print(f"  {evaluation.severity.value:<5} {name}")
    if any(not e.passed and e.asset_key.path[0] == "raw" for e in evaluations):
        print("  (raw keeps what landed, duplicates included; silver removes them)")


def _print_tables() -> None:
    database = duckdb_path()
    if not Path(database).exists():
        return
    print("\nrows per table")
    for table, rows in table_row_counts(database):
        print(f"  {table:<40} {rows:>10,}")


def _last_line(log: Path, since: int = 0) -> str:
    """What the log says last (from byte ``since`` on) about how things ended: the
    launcher's outcome line, or else its last line (colours removed)."""
    from retail_platform.launch import OUTCOME

    with open(log, "rb") as file:
        file.seek(since)
        text = file.read().decode(errors="replace")
    lines = [ANSI.sub("", line).strip() for line in text.splitlines()]
    outcome = [line.removeprefix(OUTCOME) for line in lines if line.startswith(OUTCOME)]
    last = outcome[-1] if outcome else next((ln for ln in reversed(lines) if ln), "(empty)")
    return last if len(last) <= 300 else last[:297] + "..."


# ----------------------------------------------------------------------------- the demo


def run_demo(
    start: date | None, days: int, orders_per_day: int, seed: int, today: date | None = None
) -> int:
    """Simulate, run, summarize (see the module's docstring); 0 when the run succeeded.
    ``today`` (UTC) defaults to the clock's."""
    from retail_platform.lib.landing_zone import landing_zone_from_uri

    started = time.monotonic()
    today = today or utc_today()
    home = dagster_home()
    zone = landing_zone_from_uri(landing_uri())
    plan = plan_demo(_landed(zone), start, days, today)
    _check_start_date_env(plan)
    print(_plan_line(plan, start, zone.uri(), today), flush=True)
    if plan.simulate is not None:
        _simulate(zone, plan, orders_per_day, seed)
    _record_first_day(plan, zone.uri())
    log = _log_file()
    print(f"log: Dagster's debug output goes to {log}", flush=True)
    print(f"run: {JOB} over {plan.window} as one run (DAGSTER_HOME={home})", flush=True)
    run_id, status, progress = run_full_backfill(plan.window, log)

    _print_tables()
    print_models(progress.materializations)
    print_checks(progress.evaluations)
    problem = _run_problem(run_id, status, progress, log)
    if status is not None:  # even after a failure: `make dev` starts idle, as after a success
        sensor_problem = _mark_landing_as_seen(zone, log)
        problem = problem or sensor_problem
    print("\nopen the UI with `make dev` (http://127.0.0.1:3000): Overview > Timeline, or Jobs > "
          f"{JOB} > Runs, shows run {run_id}")  # fmt: skip
    print_dashboard(progress.materializations)
    minutes, seconds = divmod(round(time.monotonic() - started), 60)
    if problem:
        print(f"\ndemo FAILED after {minutes}m{seconds:02d}s: {problem} (Dagster's log: {log})")
        return 1
    print(f"\ndemo done in {minutes}m{seconds:02d}s: run {run_id} SUCCESS (Dagster's log: {log})")
    return 0


def _run_problem(run_id: str, status: str | None, progress: RunProgress, log: Path) -> str | None:
    """What went wrong with the run, in one line, or None when it succeeded."""
    if status == "SUCCESS":
        return None
    if status is None:
        return f"{JOB} did not start: {_last_line(log)}"
    failures = "; ".join(progress.failures[:3]) or progress.run_failure or _last_line(log)
    errors = [
        f"{e.asset_key.to_user_string()}:{e.check_name}"
        for e in progress.evaluations
        if _outcome(e) == "failed"
    ]
    if errors:
        failures += f"; checks with errors: {', '.join(errors[:3])}"
    return f"run {run_id} {status}: {failures}"


def _mark_landing_as_seen(zone, log: Path) -> str | None:
    """Move the landing sensor's cursor past the files this demo loaded (and switch the
    sensor on), so `make dev` starts idle and the next file dropped is the next run.
    What went wrong, in one line, or None."""
    from retail_platform.defs.landing.cursor import LandingCursor

    cursor = LandingCursor().advanced_past(sorted(zone.list_files())).serialize()
    dagster = str(Path(sys.executable).with_name("dagster"))
    workspace = str(PROJECT_ROOT / "workspace.yaml")
    with open(log, "ab") as output:
        for command in (["cursor", "landing_sensor", "--set", cursor], ["start", "landing_sensor"]):
            since = output.tell()
            done = subprocess.run(
                [dagster, "sensor", *command, "-w", workspace],
                cwd=PROJECT_ROOT, stdin=subprocess.DEVNULL, stdout=output,
                stderr=subprocess.STDOUT, check=False,
            )  # fmt: skip
            if done.returncode != 0:
                reason = _last_line(log, since)
                return f"`dagster sensor {command[0]} landing_sensor` failed: {reason}"
    print("landing_sensor: on, past the files loaded above")
    return None
