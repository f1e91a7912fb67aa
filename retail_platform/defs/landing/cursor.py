"""Which landing files are new since the last tick, and what the tick does with each.

Files are ordered by (version, path); the cursor keeps the highest version seen and
the paths already handled at exactly that version, so files that share a version
are neither skipped nor handled twice. The cursor is a small JSON string that
Dagster stores, so it survives restarts whatever the number of files in the zone.

A file dated after the last partition (today, UTC) is *held*: the cursor moves past
it but remembers it in ``held`` (path -> version, at most ``MAX_HELD`` entries), and
each tick looks at the held files again; once the file's partition exists it is taken
like a new file. A held file that is deleted is forgotten; one that is rewritten is
judged again as the new file it is. A file dated before the first partition can never
load: it is quarantined. A file that is not settled yet (still being written, see
``LandingZone.is_settled``) stops the tick's batch there: versions grow with time, so
it and everything after it are the newest files, and the next tick starts from it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from retail_platform.lib.landing_zone import LandingFile

MAX_HELD = 1000  # files held for future dates; the cursor stays a few tens of KB at most
DEFAULT_MAX_DAYS_AHEAD = 7  # further ahead than a time zone or a clock explains: quarantine


@dataclass(frozen=True)
class LandingCursor:
    version: int = -1
    paths_at_version: frozenset[str] = field(default_factory=frozenset)
    held: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: str | None) -> LandingCursor:
        """Also reads a cursor written before ``held`` existed (it holds nothing)."""
        if not raw:
            return cls()
        data = json.loads(raw)
        return cls(
            version=int(data["version"]),
            paths_at_version=frozenset(data["paths"]),
            held={str(path): int(version) for path, version in data.get("held", {}).items()},
        )

    def serialize(self) -> str:
        data: dict[str, object] = {
            "version": self.version,
            "paths": sorted(self.paths_at_version),
        }
        if self.held:
            data["held"] = dict(sorted(self.held.items()))
        return json.dumps(data)

    def is_new(self, file: LandingFile) -> bool:
        return file.version > self.version or (
            file.version == self.version and file.path not in self.paths_at_version
        )

    def advanced_past(
        self, handled: list[LandingFile], held: Mapping[str, int] | None = None
    ) -> LandingCursor:
        """The cursor after ``handled`` (sorted by version, path) have been taken care of,
        holding ``held`` (unchanged if None). Files older than the cursor (held files
        taken now) never move it back."""
        held = dict(self.held if held is None else held)
        new = [f for f in handled if self.is_new(f)]
        if not new:
            return LandingCursor(self.version, self.paths_at_version, held)
        top = new[-1].version
        at_top = {f.path for f in new if f.version == top}
        if top == self.version:
            at_top |= self.paths_at_version
        return LandingCursor(version=top, paths_at_version=frozenset(at_top), held=held)


def next_files(
    files: Iterable[LandingFile], cursor: LandingCursor, limit: int, max_bytes: int | None = None
) -> tuple[list[LandingFile], bool]:
    """The oldest new files, at most ``limit`` of them and (past the first) at most
    ``max_bytes`` in all, and whether more new files wait for the next tick."""
    new = sorted(f for f in files if cursor.is_new(f))
    taken, total = [], 0
    for file in new[:limit]:
        total += file.size
        if taken and max_bytes is not None and total > max_bytes:
            break
        taken.append(file)
    return taken, len(new) > len(taken)


@dataclass(frozen=True)
class PartitionWindow:
    """The partition dates that exist at this tick (first and last, both included)."""

    first: date
    last: date

    def __contains__(self, day: date) -> bool:
        return self.first <= day <= self.last


@dataclass(frozen=True)
class Quarantine:
    file: LandingFile
    reason: str
    what_to_do: str


@dataclass
class TickPlan:
    """What one tick does: validate and load ``load``, quarantine ``quarantine``, start
    holding ``newly_held`` (each reported once, here); then store ``cursor``."""

    cursor: LandingCursor
    load: list[LandingFile] = field(default_factory=list)
    quarantine: list[Quarantine] = field(default_factory=list)
    newly_held: list[LandingFile] = field(default_factory=list)
    released: list[LandingFile] = field(default_factory=list)  # held, now loaded
    more: bool = False  # the budget stopped the tick: more files wait
    unsettled: int = 0  # new files still being written: taken once settled


def plan_tick(
    files: Iterable[LandingFile],
    cursor: LandingCursor,
    window: PartitionWindow,
    limit: int,
    max_bytes: int | None = None,
    is_settled: Callable[[LandingFile], bool] = lambda file: True,
    max_days_ahead: int = DEFAULT_MAX_DAYS_AHEAD,
    max_held: int = MAX_HELD,
) -> TickPlan:
    """Decide the fate of the contract files ``files`` (every one the zone lists).

    At most ``limit`` files are decided per tick, and the files to load weigh at most
    ``max_bytes`` past the first (each is read once to validate it)."""
    listed = {f.path: f for f in files}
    held = {
        path: version
        for path, version in cursor.held.items()
        if path in listed and listed[path].version == version
    }
    # A held file comes back when its day exists; a rewritten one is judged again.
    candidates = sorted(
        f
        for f in listed.values()
        if (f.path in held and f.partition_date in window)
        or (f.path not in held and (cursor.is_new(f) or f.path in cursor.held))
    )
    plan = TickPlan(cursor=cursor)
    decided: list[LandingFile] = []
    load_bytes = 0
    for position, file in enumerate(candidates):
        if len(decided) >= limit:
            plan.more = True
            break
        if not is_settled(file):
            plan.unsettled = sum(1 for f in candidates[position:] if not is_settled(f))
            break
        day = file.partition_date
        if day in window:
            load_bytes += file.size
            if plan.load and max_bytes is not None and load_bytes > max_bytes:
                plan.more = True
                break
            plan.load.append(file)
            if held.pop(file.path, None) is not None:
                plan.released.append(file)
        elif day < window.first:
            plan.quarantine.append(_before_start(file, window))
        elif (day - window.last).days > max_days_ahead:
            plan.quarantine.append(_too_far_ahead(file, window, max_days_ahead))
        elif len(held) >= max_held:
            plan.quarantine.append(_too_many_held(file, window, max_held))
        else:
            held[file.path] = file.version
            plan.newly_held.append(file)
        decided.append(file)
    plan.cursor = cursor.advanced_past(decided, held)
    return plan


def hold_message(file: LandingFile, window: PartitionWindow) -> str:
    day = file.partition_date
    return (
        f"held {file.path}: its date {day} is after today ({window.last}, UTC), the last "
        f"partition; it is loaded on the first tick on or after {day} 00:00 UTC. If its "
        "date is wrong, move the file into the folder of its real date."
    )


def _before_start(file: LandingFile, window: PartitionWindow) -> Quarantine:
    return Quarantine(
        file,
        reason=(
            f"its date {file.partition_date} is before the first partition, {window.first} "
            "(RETAIL_START_DATE): no partition can hold it"
        ),
        what_to_do=(
            "If the date is wrong, put the file in the folder of its real date. If days "
            f"before {window.first} should load, set RETAIL_START_DATE to {file.partition_date} "
            "or earlier, restart Dagster, and drop the file again at its original path."
        ),
    )


def _too_far_ahead(file: LandingFile, window: PartitionWindow, days: int) -> Quarantine:
    ahead = (file.partition_date - window.last).days
    return Quarantine(
        file,
        reason=(
            f"its date {file.partition_date} is {ahead} days after today ({window.last}, UTC); "
            f"a file is held for its day at most {days} days ahead"
        ),
        what_to_do=(
            "Put the file in the folder of its real date (check the source's clock and "
            "date format), or drop it again at its original path once its day has come."
        ),
    )


def _too_many_held(file: LandingFile, window: PartitionWindow, count: int) -> Quarantine:
    return Quarantine(
        file,
        reason=(
            f"its date {file.partition_date} is after today ({window.last}, UTC) and "
            f"{count} files already wait for their day, the most the sensor holds"
        ),
        what_to_do=(
            "Check why so many files are dated ahead (the source's clock or time zone); "
            "drop this one again at its original path once its day has come."
        ),
    )
