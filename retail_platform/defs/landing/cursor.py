"""Which landing files are new since the last tick, and how far the next tick starts.

Files are ordered by (version, path); the cursor keeps the highest version seen and
the paths already handled at exactly that version, so files that share a version
are neither skipped nor handled twice. The cursor is a small JSON string that
Dagster stores, so it survives restarts whatever the number of files in the zone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from retail_platform.lib.landing_zone import LandingFile


@dataclass(frozen=True)
class LandingCursor:
    version: int = -1
    paths_at_version: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def parse(cls, raw: str | None) -> LandingCursor:
        if not raw:
            return cls()
        data = json.loads(raw)
        return cls(version=int(data["version"]), paths_at_version=frozenset(data["paths"]))

    def serialize(self) -> str:
        return json.dumps({"version": self.version, "paths": sorted(self.paths_at_version)})

    def is_new(self, file: LandingFile) -> bool:
        return file.version > self.version or (
            file.version == self.version and file.path not in self.paths_at_version
        )

    def advanced_past(self, handled: list[LandingFile]) -> LandingCursor:
        """The cursor after ``handled`` (sorted by version, path) have been taken care of."""
        if not handled:
            return self
        top = handled[-1].version
        at_top = {f.path for f in handled if f.version == top}
        if top == self.version:
            at_top |= self.paths_at_version
        return LandingCursor(version=top, paths_at_version=frozenset(at_top))


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
