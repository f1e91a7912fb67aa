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
"""

import hashlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import dagster as dg

from retail_platform.defs.landing.cursor import LandingCursor, next_files
from retail_platform.defs.raw.assets import raw_asset_key
from retail_platform.lib.entities import ENTITIES
from retail_platform.lib.entities import entity as entity_named
from retail_platform.lib.landing_files import MalformedFile
from retail_platform.lib.landing_zone import LandingFile, LandingZone
from retail_platform.lib.raw_batches import load_file

DEFAULT_MAX_FILES_PER_TICK = 200
DEFAULT_MAX_BYTES_PER_TICK = 512 * 2**20  # every new file is read once to validate it


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


def run_requests_for(
    files: list[LandingFile], downstream: Mapping[str, Sequence[dg.AssetKey]] | None = None
) -> list[dg.RunRequest]:
    """One run per partition date: the raw assets of the entities that received files,
    plus what ``downstream`` says is built from each of them."""
    downstream = downstream or {}
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
                tags={"retail/trigger": "landing_sensor", "retail/files": str(len(day_files))},
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
) -> dg.SensorDefinition:
    @dg.sensor(
        name="landing_sensor",
        job=job,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Lists the landing zone; new or changed files become one run per transaction_date. "
            f"At most {max_files_per_tick} files a tick; unparseable files go to quarantine/."
        ),
    )
    def landing_sensor(context: dg.SensorEvaluationContext, landing_zone: LandingZone):
        cursor = LandingCursor.parse(context.cursor)
        batch, more = next_files(
            landing_zone.list_files(), cursor, max_files_per_tick, max_bytes_per_tick
        )
        if not batch:
            return dg.SkipReason(f"no new files in {landing_zone.uri()}")
        requests = run_requests_for(_valid_files(landing_zone, batch, context.log), downstream)
        context.update_cursor(cursor.advanced_past(batch).serialize())
        if more:
            context.log.info(f"{len(batch)} new files this tick; the rest go next tick")
        if not requests:
            return dg.SkipReason(f"{len(batch)} new file(s), none loadable (see quarantine/)")
        return dg.SensorResult(run_requests=requests)

    return landing_sensor
