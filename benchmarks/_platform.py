"""What the platform benchmarks share: a work folder, the platform run in a child process,
the child's peak memory, and where the run's time went (from its event log).

A benchmark prepares a :class:`Workdir` (landing zone, DuckDB file, DAGSTER_HOME, model
folder, all under ``data/bench/<name>/`` by default, which git ignores), then hands a
*plan* to :func:`run_child`. The child (``python -m benchmarks._platform PLAN OUT``) gets
the work folder's environment, imports the code location as a run worker does
(``retail_platform.definitions``), and executes the plan's steps:

* ``run``: a job over ``[first, last]``: one partition (``partition_key``, as the landing
  sensor asks) or a range as one run (the range tags, as ``make demo`` and a UI backfill
  with ``BackfillPolicy.single_run`` do), with ``execute_in_process`` on the persistent
  instance in ``DAGSTER_HOME``;
* ``create_run``: a range run created, not executed (its plan and planned events), timed;
* ``land_day``: simulate and land one more day;
* ``mark_seen``: move a landing-sensor cursor past every file in the zone;
* ``tick_and_run``: evaluate the real ``landing_sensor`` with that cursor and execute the
  runs it requests; the cursor then stays where the tick left it (as the daemon keeps a
  sensor's cursor), so a later ``tick_and_run`` sees only the files landed since.

The parent samples the RSS of the child's whole process tree (the child, dbt, ...) every
0.5 s. Each run is summarised from the instance's event log: step start, output and end
times (for a raw step, the time to its output is reading the landing files, from the
output to the handled output is the IO manager's write), and from each dbt invocation's
``run_results.json`` and ``dbt.log`` (dbt start-up + parse vs the time its nodes ran).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
BENCH_ROOT = PROJECT_ROOT / "data" / "bench"
LINES_PER_ORDER = 3.0  # average order lines per order in the simulator
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
DBT_TARGET_DIR = PROJECT_ROOT / "sql" / "target" / "local"  # dagster-dbt's invocation folders

# ----------------------------------------------------------------------------- parent side


def bytecode_cache_env() -> dict[str, str]:
    """Compiled bytecode for the children (the run worker and every dbt process): a normal
    environment has .pyc files beside the sources after the first import; one with
    PYTHONDONTWRITEBYTECODE=1 and no .pyc compiles dagster, dbt and pandas from source in
    every process (measured: 3-4 s more per process here). The cache goes to
    data/bench/.pycache, never into the venv or the repository."""
    return {"PYTHONPYCACHEPREFIX": str(BENCH_ROOT / ".pycache")}


def orders_per_day(lines_per_day: int) -> int:
    return max(1, round(lines_per_day / LINES_PER_ORDER))


def churn_label_days(days: int) -> int:
    """The platform's 60-day churn label window when the history allows it (>= 120 days);
    shorter histories get a third of their length, so ``full_backfill`` can still train
    (from 3 days on: on 2 days of 200 lines the evaluation split has no retained customer
    and the churn model's step fails)."""
    return 60 if days >= 120 else max(1, days // 3)


@dataclass(frozen=True)
class Workdir:
    root: Path

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def database(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster_home"

    @property
    def models(self) -> Path:
        return self.root / "models"

    def env(self, start: date, label_days: int = 60) -> dict[str, str]:
        """The platform's own variables (README), pointed at this folder."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("RETAIL_", "DAGSTER_", "DBT_", "GCP_"))
            and key != "PYTHONDONTWRITEBYTECODE"
        }
        return {
            **env,
            "RETAIL_TARGET": "local",
            "RETAIL_DATA_DIR": str(self.root),
            "RETAIL_DUCKDB_PATH": str(self.database),
            "RETAIL_LANDING": str(self.landing),
            "RETAIL_MODEL_DIR": str(self.models),
            "RETAIL_START_DATE": start.isoformat(),
            "RETAIL_CHURN_LABEL_DAYS": str(label_days),
            "DAGSTER_HOME": str(self.dagster_home),
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH")) if p
            ),
            **bytecode_cache_env(),
        }

    def reset_warehouse(self) -> None:
        """An empty warehouse, instance and model folder (the landing zone stays)."""
        for path in (self.database, Path(f"{self.database}.wal")):
            path.unlink(missing_ok=True)
        for folder in (self.dagster_home, self.models):
            shutil.rmtree(folder, ignore_errors=True)
        self.root.mkdir(parents=True, exist_ok=True)

    def warehouse_bytes(self) -> int:
        wal = Path(f"{self.database}.wal")
        return sum(p.stat().st_size for p in (self.database, wal) if p.exists())


LOADED_MARKER = "loaded.json"  # what the warehouse of a work folder holds (bench_daily reuses it)


def mark_loaded(workdir: Workdir, landed: dict[str, Any] | None) -> None:
    """Record that the work folder's warehouse holds exactly the landed days (``landed``
    from :func:`ensure_landing`), or, with None, that it may not."""
    marker = workdir.root / LOADED_MARKER
    if landed is None:
        marker.unlink(missing_ok=True)
    else:
        keys = ("start", "days", "orders_per_day", "seed")
        marker.write_text(json.dumps({k: landed[k] for k in keys}))


def workdir_for(name: str, explicit: str | None, quick: bool) -> tuple[Workdir, Any]:
    """``explicit``, else a temporary folder in quick mode (removed by the returned
    cleanup), else ``data/bench/<name>``."""
    import tempfile

    if explicit:
        return Workdir(Path(explicit).resolve()), None
    if quick:
        holder = tempfile.TemporaryDirectory(prefix=f"bench-{name}-")
        return Workdir(Path(holder.name)), holder
    return Workdir(BENCH_ROOT / name), None


def ensure_landing(
    workdir: Workdir, start: date, days: int, lines_per_day: int, seed: int
) -> dict[str, Any]:
    """Simulate ``days`` days into the work folder's landing zone, unless it already holds
    exactly that simulation (``landing.json`` says so): a landed year is reused."""
    from retail_platform.lib.landing_zone import LocalLandingZone
    from retail_platform.lib.simulator import SimulationConfig, simulate

    wanted = {
        "start": start.isoformat(),
        "days": days,
        "orders_per_day": orders_per_day(lines_per_day),
        "seed": seed,
    }
    marker = workdir.root / "landing.json"
    if marker.exists() and workdir.landing.exists():
        landed = json.loads(marker.read_text())
        if {k: landed.get(k) for k in wanted} == wanted:
            return {**landed, "reused": True}
    shutil.rmtree(workdir.landing, ignore_errors=True)
    marker.unlink(missing_ok=True)
    workdir.landing.mkdir(parents=True)
    config = SimulationConfig(seed=seed, orders_per_day=wanted["orders_per_day"], fmt="jsonl")
    summary = simulate(LocalLandingZone(root=str(workdir.landing)), config, start, days)
    landed = {
        **wanted,
        "seconds": summary.seconds,
        "files": summary.files_written,
        "bytes": summary.bytes_written,
        "order_lines": summary.order_lines,
        "orders": summary.orders,
        "rows": summary.rows,
    }
    marker.write_text(json.dumps(landed, indent=1))
    return {**landed, "reused": False}


def _tree_rss(process) -> tuple[int, int]:
    """(sum, largest) RSS in bytes over ``process`` and its descendants."""
    import psutil

    total = largest = 0
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0, 0
    for member in members:
        try:
            rss = member.memory_info().rss
        except psutil.Error:
            continue
        total += rss
        largest = max(largest, rss)
    return total, largest


def run_process(command: list[str], env: dict[str, str] | None, log_file: Path) -> dict[str, Any]:
    """Run ``command`` (output to ``log_file``), sampling the RSS of its process tree every
    0.5 s: wall seconds, peak RSS of the tree (sum) and of its largest process, and a
    timeline (wall-clock second -> the largest tree RSS in it) to place the peak."""
    import psutil

    peak = largest = 0
    timeline: dict[int, int] = {}
    started = time.perf_counter()
    with log_file.open("w") as log:
        child = psutil.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=log)
        try:
            while child.poll() is None:
                total, single = _tree_rss(child)
                peak, largest = max(peak, total), max(largest, single)
                second = int(time.time())
                timeline[second] = max(timeline.get(second, 0), total)
                time.sleep(0.5)
        except BaseException:
            child.kill()
            raise
    return {
        "process_seconds": time.perf_counter() - started,
        "peak_rss_bytes": peak,
        "largest_process_rss_bytes": largest,
        "rss_timeline": timeline,
        "returncode": child.returncode,
    }


def peak_rss_by_step(run: dict[str, Any], timeline: dict[Any, int]) -> dict[str, int]:
    """The highest process-tree RSS sampled while each step ran."""
    samples = sorted((int(second), rss) for second, rss in timeline.items())
    return {
        step["key"]: max(
            (rss for second, rss in samples if step["start"] - 1 <= second <= step["end"]),
            default=0,
        )
        for step in run["steps"]
    }


def run_child(
    workdir: Workdir,
    env: dict[str, str],
    plan: list[dict[str, Any]],
    label: str,
    profile: str | None = None,
) -> dict[str, Any]:
    """Run ``plan`` in a child process with ``env``; return its results, wall time and the
    peak RSS of its process tree. Its output goes to ``<workdir>/<label>.log``.

    ``profile``: a py-spy executable; the child then runs under ``py-spy record
    --subprocesses`` (dbt included) and writes collapsed stacks (one line per stack and
    process, with its sample count) to ``<workdir>/<label>.pyspy.txt``."""
    workdir.root.mkdir(parents=True, exist_ok=True)
    plan_file = workdir.root / f"{label}.plan.json"
    out_file = workdir.root / f"{label}.result.json"
    log_file = workdir.root / f"{label}.log"
    plan_file.write_text(json.dumps(plan, indent=1))
    out_file.unlink(missing_ok=True)
    command = [sys.executable, "-m", "benchmarks._platform", str(plan_file), str(out_file)]
    if profile:
        command = [
            profile, "record", "--subprocesses", "--nonblocking", "--rate", "25",
            "--format", "raw", "--output", str(workdir.root / f"{label}.pyspy.txt"),
            "--", *command,
        ]  # fmt: skip
    process = run_process(command, env, log_file)
    if process["returncode"] != 0 or not out_file.exists():
        tail = log_file.read_text()[-4000:]
        raise RuntimeError(f"benchmark child {label} failed ({process['returncode']}):\n{tail}")
    return {**json.loads(out_file.read_text()), **process}


def table_rows(database: Path) -> dict[str, int]:
    """Rows of every table and view in the retail_* schemas (``schema.table``)."""
    import duckdb

    with duckdb.connect(str(database), read_only=True) as connection:
        tables = connection.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema LIKE 'retail_%' ORDER BY 1, 2"
        ).fetchall()
        return {
            f"{schema}.{table}": connection.execute(
                f'SELECT count(*) FROM "{schema}"."{table}"'
            ).fetchone()[0]
            for schema, table in tables
        }


def load_average() -> float:
    return os.getloadavg()[0]


# ----------------------------------------------------------------------------- run summary

LAYERS = (
    ("raw", "raw: landing files -> retail_raw (Python + IO manager)"),
    ("silver_gold", "silver + gold facts: dbt build, partitioned models"),
    ("checks", "reconciliation checks (Python)"),
    ("dbt_models", "dims, churn features, marts: dbt build, unpartitioned"),
    ("churn", "churn model + scores (Python)"),
    ("other", "other steps (Python assets of the marts group, ...)"),
)


def layer_of(step_key: str) -> str:
    if step_key.startswith("raw__"):
        return "raw"
    if step_key.startswith("dbt_partitioned_models"):
        return "silver_gold"
    if step_key.startswith("dbt_models"):
        return "dbt_models"
    if step_key.startswith("ml__"):
        return "churn"
    if step_key.startswith(("silver__", "gold__")):  # asset checks on silver/gold tables
        return "checks"
    return "other"


def code_state() -> str:
    """HEAD and whether the platform code differs from it (others may be changing it)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    changed = git("status", "--porcelain", "--", "retail_platform", "sql", "pyproject.toml")
    if not changed:
        return head
    import hashlib

    digest = hashlib.sha1(git("diff", "HEAD", "--", "retail_platform", "sql").encode())
    count = len(changed.splitlines())
    return f"{head} + {count} uncommitted platform file(s), diff {digest.hexdigest()[:8]}"


def layer_seconds(run: dict[str, Any]) -> dict[str, float]:
    """Seconds per layer (sum of its steps), plus ``overhead``: the run's wall time outside
    any step (run start, planning, resource set-up, teardown)."""
    seconds = dict.fromkeys([name for name, _ in LAYERS], 0.0)
    for step in run["steps"]:
        seconds[layer_of(step["key"])] += step["seconds"]
    seconds["overhead"] = run["wall_seconds"] - sum(s["seconds"] for s in run["steps"])
    return seconds


def raw_split(run: dict[str, Any]) -> dict[str, float]:
    """Raw steps: reading the landing files vs the IO manager's write vs the rest."""
    read = write = other = 0.0
    for step in run["steps"]:
        if layer_of(step["key"]) != "raw" or step.get("output_at") is None:
            continue
        handled = step.get("handled_at") or step["end"]
        read += step["output_at"] - step["start"]
        write += handled - step["output_at"]
        other += step["end"] - handled
    return {"read_landing": read, "io_manager_write": write, "after_write": other}


# ----------------------------------------------------------------------------- child side


RUN_START, RUN_END = "PIPELINE_START", ("PIPELINE_SUCCESS", "PIPELINE_FAILURE")


def _timestamp(entry) -> float:
    return float(entry.timestamp)


def _summarize_run(
    instance, run_id: str, called_at: float, returned_at: float, success: bool
) -> dict[str, Any]:
    """The run's steps and events from the instance's event log; ``called_at`` and
    ``returned_at``: wall-clock time around ``execute_in_process``."""
    steps: dict[str, dict[str, Any]] = {}
    kinds: dict[str, int] = {}
    models: dict[str, dict[str, Any]] = {}
    run_start = run_end = None
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None:
            continue
        kind = event.event_type_value
        kinds[kind] = kinds.get(kind, 0) + 1
        ts = _timestamp(entry)
        if kind == RUN_START:
            run_start = ts
        elif kind in RUN_END:
            run_end = ts
        key = event.step_key
        if key is None:
            continue
        step = steps.setdefault(key, {"key": key, "events": 0})
        step["events"] += 1
        if kind == "STEP_START":
            step["start"] = ts
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED"):
            step["end"] = ts
            step["status"] = kind
        elif kind == "STEP_OUTPUT" and "output_at" not in step:
            step["output_at"] = ts
        elif kind == "HANDLED_OUTPUT":
            step["handled_at"] = ts
        elif kind == "ASSET_MATERIALIZATION":
            # one event per asset and partition: keep the first of each asset
            materialization = event.event_specific_data.materialization
            asset = materialization.asset_key.to_user_string()
            if asset in models:
                models[asset]["partitions"] += 1
                continue
            metadata = materialization.metadata
            duration = metadata.get("Execution Duration")
            rows = metadata.get("dagster/row_count")
            models[asset] = {
                "asset": asset,
                "step": key,
                "seconds": getattr(duration, "value", None),
                "rows": getattr(rows, "value", None),
                "partitions": 1,
            }
    finished = []
    for step in steps.values():
        if "start" in step and "end" in step:
            step["seconds"] = step["end"] - step["start"]
            finished.append(step)
    finished.sort(key=lambda s: s["start"])
    invocations = _dbt_invocations(run_id)
    for invocation in invocations:
        step = steps.get(invocation["invocation"].rsplit("-", 2)[0], {})
        if "first_log_at" in invocation and "seconds" in step:
            # before dbt's first log line: dagster-dbt's set-up (adapter, manifest, selection)
            # and the dbt process starting (Python, dbt's imports); after its last line:
            # Dagster turning dbt's events into materializations, checks and row counts.
            invocation["step_seconds"] = step["seconds"]
            invocation["before_dbt_seconds"] = invocation["first_log_at"] - step["start"]
            invocation["after_dbt_seconds"] = step["end"] - invocation["last_log_at"]
    first_step = min((s["start"] for s in finished), default=returned_at)
    last_step = max((s["end"] for s in finished), default=returned_at)
    return {
        "run_id": run_id,
        "success": success,
        "wall_seconds": returned_at - called_at,
        "event_log_seconds": (run_end - run_start) if run_start and run_end else None,
        # creating the run (plan, planned-materialization events) until the run starts
        "before_run_start_seconds": (run_start or first_step) - called_at,
        "run_start_to_first_step_seconds": first_step - (run_start or first_step),
        "after_last_step_seconds": returned_at - last_step,
        "event_counts": dict(sorted(kinds.items(), key=lambda kv: -kv[1])),
        "steps": finished,
        "events": sum(s["events"] for s in steps.values()),
        "materializations": list(models.values()),
        "dbt": invocations,
    }


def _dbt_log_times(log: Path) -> dict[str, float]:
    """Seconds from dbt's first log line to the end of parsing (its 'Concurrency' line),
    and from there to its last line, from the JSON log of one invocation."""
    first = parsed = last = None
    for line in log.read_text().splitlines():
        try:
            info = json.loads(line)["info"]
        except (ValueError, KeyError):
            continue
        ts = datetime.fromisoformat(info["ts"].replace("Z", "+00:00")).timestamp()
        first = ts if first is None else first
        last = ts
        if parsed is None and info.get("name") == "ConcurrencyLine":
            parsed = ts
    if first is None or last is None:
        return {}
    parsed = parsed or first
    return {
        "startup_and_parse_seconds": parsed - first,
        "execute_seconds": last - parsed,
        "first_log_at": first,
        "last_log_at": last,
    }


def _dbt_invocations(run_id: str, keep: bool = False) -> list[dict[str, Any]]:
    """dbt's own account of each invocation of this run; the folders are then removed
    (dagster-dbt leaves one per invocation under sql/target/local)."""
    found = []
    for folder in sorted(DBT_TARGET_DIR.glob(f"*-{run_id[:7]}-*")):
        results_file = folder / "run_results.json"
        summary: dict[str, Any] = {"invocation": folder.name}
        if results_file.exists():
            results = json.loads(results_file.read_text())
            summary["elapsed_seconds"] = results.get("elapsed_time")
            nodes = []
            for result in results.get("results", []):
                unique_id = result["unique_id"]
                nodes.append({"node": unique_id, "seconds": result.get("execution_time") or 0.0})
            summary["model_seconds"] = sum(
                n["seconds"] for n in nodes if n["node"].startswith("model.")
            )
            summary["test_seconds"] = sum(
                n["seconds"] for n in nodes if n["node"].startswith("test.")
            )
            summary["tests"] = sum(1 for n in nodes if n["node"].startswith("test."))
            summary["models"] = sum(1 for n in nodes if n["node"].startswith("model."))
            summary["slowest"] = sorted(nodes, key=lambda n: -n["seconds"])[:8]
        log = folder / "dbt.log"
        if log.exists():
            summary.update(_dbt_log_times(log))
        found.append(summary)
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
    return found


def _execute(defs, instance, step: dict[str, Any]) -> dict[str, Any]:
    job = defs.resolve_job_def(step["job"])
    first, last = step["first"], step.get("last") or step["first"]
    called_at = time.time()
    if step.get("one_partition"):
        result = job.execute_in_process(
            instance=instance, partition_key=first, raise_on_error=False
        )
    else:
        result = job.execute_in_process(
            instance=instance,
            tags={RANGE_START_TAG: first, RANGE_END_TAG: last},
            raise_on_error=False,
        )
    summary = _summarize_run(instance, result.run_id, called_at, time.time(), result.success)
    return {"op": "run", "first": first, "last": last, "job": step["job"], **summary}


def _create_run(defs, instance, step: dict[str, Any]) -> dict[str, Any]:
    """A range run of ``step["job"]`` created as a UI backfill creates it (the plan, one
    planned-materialization event per asset and partition), timed, then deleted unexecuted."""
    import dagster as dg

    job = defs.resolve_job_def(step["job"])
    started = time.perf_counter()
    run = instance.create_run_for_job(
        job, tags={RANGE_START_TAG: step["first"], RANGE_END_TAG: step["last"]}
    )
    seconds = time.perf_counter() - started
    planned = instance.all_logs(
        run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
    )
    instance.delete_run(run.run_id)
    return {"op": "create_run", "seconds": seconds, "planned_events": len(planned)}


def _land_day(step: dict[str, Any]) -> dict[str, Any]:
    from retail_platform.lib.landing_zone import landing_zone_from_uri
    from retail_platform.lib.simulator import SimulationConfig, simulate
    from retail_platform.lib.targets import landing_uri

    config = SimulationConfig(seed=step["seed"], orders_per_day=step["orders_per_day"])
    day = date.fromisoformat(step["day"])
    summary = simulate(landing_zone_from_uri(landing_uri()), config, day, 1)
    return {"op": "land_day", "day": step["day"], "files": summary.files_written,
            "order_lines": summary.order_lines, "seconds": summary.seconds}  # fmt: skip


def _tick_and_run(defs, instance, cursor: str | None) -> tuple[dict[str, Any], str | None]:
    """One tick of ``landing_sensor`` from ``cursor``, then the runs it asked for; returns
    the figures and the cursor as the tick left it."""
    import dagster as dg

    from retail_platform.lib.landing_zone import LocalLandingZone, landing_zone_from_uri
    from retail_platform.lib.targets import landing_uri

    sensor = defs.resolve_sensor_def("landing_sensor")
    zone = landing_zone_from_uri(landing_uri())
    if isinstance(zone, LocalLandingZone):  # the simulator renames complete files into place
        zone = LocalLandingZone(root=zone.root, settle_seconds=0)
    context = dg.build_sensor_context(
        cursor=cursor, resources={"landing_zone": zone}, instance=instance
    )
    started = time.perf_counter()
    outcome = sensor(context)
    tick = time.perf_counter() - started
    requests = list(outcome.run_requests or []) if isinstance(outcome, dg.SensorResult) else []
    after = context.cursor
    if isinstance(outcome, dg.SensorResult) and outcome.cursor is not None:
        after = outcome.cursor
    job = defs.resolve_job_def(sensor.job_name)
    runs = []
    for request in requests:
        called_at = time.time()
        result = job.execute_in_process(
            instance=instance,
            partition_key=request.partition_key,
            asset_selection=list(request.asset_selection or []),
            tags={**request.tags, "dagster/run_key": request.run_key or ""},
            raise_on_error=False,
        )
        returned_at = time.time()
        runs.append(
            {"partition": request.partition_key,
             **_summarize_run(instance, result.run_id, called_at, returned_at, result.success)}
        )  # fmt: skip
    figures = {
        "op": "tick_and_run",
        "tick_seconds": tick,
        "run_requests": len(requests),
        "partitions": [r.partition_key for r in requests],
        "cursor_moved": after != cursor,
        "runs": runs,
    }
    return figures, after


def _parse() -> dict[str, Any]:
    """dbt's parse state for this warehouse, as yesterday's run would have left it: dbt
    re-parses the whole project when its profile (the DuckDB path) changed, and a copied
    warehouse is at a new path."""
    from retail_platform.defs.transforms.project import DBT_PROJECT_DIR

    started = time.perf_counter()
    dbt = Path(sys.executable).with_name("dbt")
    subprocess.run(
        [str(dbt), "parse", "--quiet"], cwd=DBT_PROJECT_DIR, check=True, env=os.environ.copy()
    )
    return {"op": "parse", "seconds": time.perf_counter() - started}


def child_main(plan_file: str, out_file: str) -> None:
    plan = json.loads(Path(plan_file).read_text())
    started = time.perf_counter()
    from retail_platform.instance import dagster_home

    dagster_home()
    import dagster as dg

    from retail_platform.definitions import defs

    imported = time.perf_counter() - started
    results: list[dict[str, Any]] = []
    cursor: str | None = None
    with dg.DagsterInstance.get() as instance:
        for step in plan:
            op = step["op"]
            if op == "run":
                results.append(_execute(defs, instance, step))
            elif op == "create_run":
                results.append(_create_run(defs, instance, step))
            elif op == "land_day":
                results.append(_land_day(step))
            elif op == "mark_seen":
                from retail_platform.defs.landing.cursor import LandingCursor
                from retail_platform.lib.landing_zone import landing_zone_from_uri
                from retail_platform.lib.targets import landing_uri

                files = sorted(landing_zone_from_uri(landing_uri()).list_files())
                cursor = LandingCursor().advanced_past(files).serialize()
                results.append({"op": "mark_seen", "files": len(files)})
            elif op == "parse":
                results.append(_parse())
            elif op == "tick_and_run":
                tick, cursor = _tick_and_run(defs, instance, cursor)
                results.append(tick)
            else:
                raise ValueError(f"unknown plan step {op!r}")
    Path(out_file).write_text(json.dumps({"import_seconds": imported, "steps": results}))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: python -m benchmarks._platform PLAN.json OUT.json")
    child_main(sys.argv[1], sys.argv[2])
    sys.stdout.flush()
    # dagster/dbt leave non-daemon threads behind now and then; the figures are written.
    os._exit(0)
