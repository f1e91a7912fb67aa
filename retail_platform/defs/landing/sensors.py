"""A sensor over the LandingZone that asks for runs of the partitions whose files are new.

Each tick lists the zone, takes the oldest new files (bounded per tick), checks
that each one parses and matches its entity's schema (a file that does not is
quarantined with its reason, and the tick goes on), then requests one run per
partition date for the raw assets of the entities that received files and the
assets built from those (not from the others: a day without a stores file does not
rebuild silver stores, and every dbt asset of the run sits downstream of a raw asset in
it, so Dagster runs each dbt group as one step instead of splitting off the unrelated
ones). The run key is derived from the files' paths and
versions: a file seen before is not processed again, a changed file is.

No file stops the others. A file dated before the first partition is quarantined with
the reason; one dated after today (UTC) is held in the cursor and loaded once its
partition exists, so a run request never names a partition that does not exist (the
partitions definition decides, at the tick's time). A file whose path is not a contract
path (a stray) is quarantined with what the contract expects. A file still being
written (not settled, see ``LandingZone.is_settled``) waits for a later tick; hidden
files (``.<name>.partial``) are never touched. Every quarantine and every hold is logged
once, on the tick that decides it.

A run's tags say which files of its day sit in quarantine (``retail/quarantined_files``, a
count, and ``retail/quarantined_paths``); a new file at the path of a quarantined one is
its correction: the old copy and its report move to ``quarantine/resolved/``.
"""

import hashlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import dagster as dg

from retail_platform.defs.landing.cursor import (
    DEFAULT_MAX_DAYS_AHEAD,
    LandingCursor,
    PartitionWindow,
    TickPlan,
    hold_message,
    plan_tick,
)
from retail_platform.defs.raw.assets import raw_asset_key
from retail_platform.lib.entities import ENTITIES
from retail_platform.lib.entities import entity as entity_named
from retail_platform.lib.landing_files import MalformedFile
from retail_platform.lib.landing_zone import (
    CONTRACT_PATH,
    LandingFile,
    LandingZone,
    landing_path_problem,
)
from retail_platform.lib.partitions import transaction_date_partitions
from retail_platform.lib.raw_batches import load_file
from retail_platform.patches.dagster_private import get_current_datetime

DEFAULT_MAX_FILES_PER_TICK = 200
DEFAULT_MAX_BYTES_PER_TICK = 512 * 2**20  # every new file is read once to validate it

#: Run tags of a sensor run whose day has files in quarantine: how many, and their paths.
QUARANTINED_TAG = "retail/quarantined_files"
QUARANTINED_PATHS_TAG = "retail/quarantined_paths"
QUARANTINE_TAG_CHARS = 1000

STRAY_WHAT_TO_DO = (
    f"Move or re-export the file to a contract path, {CONTRACT_PATH} (entity and extension "
    "in lower case), e.g. orders/transaction_date=2025-01-03/batch-1.jsonl; the landing "
    "sensor loads it as a new file. A file that is not landing data does not belong in the "
    "landing zone."
)


def landing_run_key(day: date, files: list[LandingFile]) -> str:
    digest = hashlib.sha1(
        "\n".join(f"{f.path}@{f.version}" for f in sorted(files)).encode()
    ).hexdigest()[:16]
    return f"landing-{day.isoformat()}-{digest}"


def _valid_files(
    zone: LandingZone, files: list[LandingFile], log: dg.DagsterLogManager
) -> list[LandingFile]:
    valid = []
    for file in files:
        try:
            load_file(zone, entity_named(file.entity), file)
        except MalformedFile as error:
            where = zone.quarantine_file(file.path, str(error))
            log.warning(f"quarantined {file.path} -> {where}: {error}")
            continue
        except FileNotFoundError:
            log.info(f"{file.path} disappeared before it could be checked; skipping")
            continue
        valid.append(file)
    return valid


def partition_window(
    partitions_def: dg.TimeWindowPartitionsDefinition, now: datetime
) -> PartitionWindow | None:
    """The partition dates that exist at ``now``, from the partitions definition itself
    (None before the first one)."""
    with dg.partition_loading_context(effective_dt=now):
        first = partitions_def.get_first_partition_key()
        last = partitions_def.get_last_partition_key()
    if first is None or last is None:
        return None
    return PartitionWindow(date.fromisoformat(first), date.fromisoformat(last))


def _quarantine_strays(
    zone: LandingZone,
    strays: list[LandingFile],
    now: datetime,
    limit: int,
    log: dg.DagsterLogManager,
) -> int:
    """Quarantine the settled strays, oldest first, at most ``limit``; how many were moved."""
    moved = 0
    for stray in sorted(s for s in strays if zone.is_settled(s, now))[:limit]:
        reason = landing_path_problem(stray.path) or "not a contract path"
        try:
            where = zone.quarantine_file(stray.path, reason, STRAY_WHAT_TO_DO)
        except FileNotFoundError:
            continue
        log.warning(f"quarantined {stray.path} -> {where}: {reason}")
        moved += 1
    return moved


def _apply_decisions(
    zone: LandingZone, plan: TickPlan, window: PartitionWindow, log: dg.DagsterLogManager
) -> None:
    for item in plan.quarantine:
        try:
            where = zone.quarantine_file(item.file.path, item.reason, item.what_to_do)
        except FileNotFoundError:
            log.info(f"{item.file.path} disappeared before it could be quarantined")
            continue
        log.warning(f"quarantined {item.file.path} -> {where}: {item.reason}")
    for file in plan.newly_held:
        log.warning(hold_message(file, window))
    for file in plan.released:
        log.info(f"{file.path}: its day {file.partition_date} has begun; loading it")


def quarantine_tags(paths: Sequence[str]) -> dict[str, str]:
    """The run tags that say which files of the run's day sit in quarantine: a count, and
    as many paths as fit in QUARANTINE_TAG_CHARS (the raw materializations list them all)."""
    if not paths:
        return {}
    listed: list[str] = []
    for number, path in enumerate(sorted(paths)):
        rest = len(paths) - number
        if len(", ".join([*listed, path])) + len(f", and {rest - 1} more") > QUARANTINE_TAG_CHARS:
            listed.append(f"and {rest} more")
            break
        listed.append(path)
    return {QUARANTINED_TAG: str(len(paths)), QUARANTINED_PATHS_TAG: ", ".join(listed)}


def resolve_and_list_quarantined(
    zone: LandingZone, files: list[LandingFile], log: dg.DagsterLogManager
) -> dict[date, list[str]]:
    """Per day of ``files``: the files of that day in quarantine, after moving to
    quarantine/resolved/ the ones that ``files`` correct (same path). One listing per
    entity and day that received files, plus one per day over every entity."""
    paths = {f.path for f in files}
    for entity, day in sorted({(f.entity, f.partition_date) for f in files}):
        for path in zone.list_quarantined(entity, day):
            if path in paths:
                moved = zone.resolve_quarantined(path)
                log.info(f"{path}: a corrected file landed; its quarantined copy -> {moved}")
    return {
        day: zone.list_quarantined(day=day) for day in sorted({f.partition_date for f in files})
    }


def run_requests_for(
    files: list[LandingFile],
    downstream: Mapping[str, Sequence[dg.AssetKey]] | None = None,
    quarantined: Mapping[date, Sequence[str]] | None = None,
) -> list[dg.RunRequest]:
    """One run per partition date: the raw assets of the entities that received files,
    plus what ``downstream`` says is built from each of them; tagged with the day's files
    in ``quarantined`` (quarantine_tags)."""
    downstream = downstream or {}
    quarantined = quarantined or {}
    by_day: dict[date, list[LandingFile]] = defaultdict(list)
    for file in files:
        by_day[file.partition_date].append(file)
    requests = []
    for day in sorted(by_day):
        day_files = by_day[day]
        entities = sorted({f.entity for f in day_files})
        built = {key for name in entities for key in downstream.get(name, ())}
        requests.append(
            dg.RunRequest(
                run_key=landing_run_key(day, day_files),
                partition_key=day.isoformat(),
                asset_selection=[
                    *(raw_asset_key(name) for name in entities),
                    *sorted(built, key=lambda key: key.to_user_string()),
                ],
                tags={
                    "retail/trigger": "landing_sensor",
                    "retail/files": str(len(day_files)),
                    **quarantine_tags(quarantined.get(day, ())),
                },
            )
        )
    return requests


def downstream_by_entity(
    assets: Sequence[dg.AssetsDefinition], allowed: dg.AssetSelection
) -> dict[str, list[dg.AssetKey]]:
    """For each entity, the assets in ``allowed`` that are built from its raw asset."""
    keys = allowed.resolve(assets)
    result = {}
    for name in ENTITIES:
        built = dg.AssetSelection.assets(raw_asset_key(name)).downstream().resolve(assets)
        result[name] = sorted((built & keys) - {raw_asset_key(name)}, key=lambda k: k.path)
    return result


def build_landing_sensor(
    job: dg.JobDefinition | Any,
    downstream: Mapping[str, Sequence[dg.AssetKey]] | None = None,
    max_files_per_tick: int = DEFAULT_MAX_FILES_PER_TICK,
    max_bytes_per_tick: int = DEFAULT_MAX_BYTES_PER_TICK,
    minimum_interval_seconds: int = 30,
    partitions_def: dg.TimeWindowPartitionsDefinition = transaction_date_partitions,
    max_days_ahead: int = DEFAULT_MAX_DAYS_AHEAD,
) -> dg.SensorDefinition:
    @dg.sensor(
        name="landing_sensor",
        job=job,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Lists the landing zone; new or changed files become one run per transaction_date. "
            f"At most {max_files_per_tick} files a tick; unparseable files and files off the "
            "contract go to quarantine/, files dated after today wait for their day."
        ),
    )
    def landing_sensor(context: dg.SensorEvaluationContext, landing_zone: LandingZone):
        now = get_current_datetime()  # one time for the whole tick (partitions, settling)
        cursor = LandingCursor.parse(context.cursor)
        window = partition_window(partitions_def, now)
        if window is None:
            return dg.SkipReason(f"no transaction_date partition exists yet at {now:%Y-%m-%d}")
        contract, strays = [], []
        for file in landing_zone.list_landed():
            (strays if landing_path_problem(file.path) else contract).append(file)
        stray_count = _quarantine_strays(landing_zone, strays, now, max_files_per_tick, context.log)
        plan = plan_tick(
            contract,
            cursor,
            window,
            max_files_per_tick,
            max_bytes_per_tick,
            is_settled=lambda file: landing_zone.is_settled(file, now),
            max_days_ahead=max_days_ahead,
        )
        _apply_decisions(landing_zone, plan, window, context.log)
        valid = _valid_files(landing_zone, plan.load, context.log)
        quarantined = resolve_and_list_quarantined(landing_zone, valid, context.log)
        requests = run_requests_for(valid, downstream, quarantined)
        if plan.cursor != cursor:
            context.update_cursor(plan.cursor.serialize())
        if plan.more:
            context.log.info(f"{len(plan.load)} files to load this tick; the rest go next tick")
        if requests:
            return dg.SensorResult(run_requests=requests)
        quarantined = len(plan.quarantine) + stray_count + len(plan.load) - len(valid)
        waiting = [
            f"{len(plan.cursor.held)} held for a later day" if plan.cursor.held else "",
            f"{plan.unsettled} still being written" if plan.unsettled else "",
            f"{quarantined} quarantined" if quarantined else "",
        ]
        detail = "; ".join(part for part in waiting if part)
        return dg.SkipReason(
            f"nothing to load in {landing_zone.uri()}" + (f" ({detail})" if detail else "")
        )

    return landing_sensor
