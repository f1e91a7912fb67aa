"""Where source systems drop their files: a local folder or a GCS bucket prefix.

Both implementations share one interface (``LandingZone``) so the sensor, the raw
assets and the simulator never know which one they talk to. Paths are always
relative to the zone's root and follow the contract:
``<entity>/transaction_date=YYYY-MM-DD/<batch-id>.<jsonl|csv>``.

Anything else in the zone is a *stray* (``list_strays``): the landing sensor quarantines
it with the reason it is not a contract path. Two kinds of file are neither: whatever is
under ``quarantine/``, and hidden files (any part of the path starting with ``.``), which
is where writers keep a file while they write it (``write_bytes`` writes
``.<name>.partial`` and then renames it); those are never listed, loaded or moved.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat as stat_module
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
from pydantic import Field, PrivateAttr

from retail_platform.lib.entities import ENTITIES

QUARANTINE_PREFIX = "quarantine/"
#: Where a quarantined file and its report go once a corrected file has landed at its path
#: (or a newer quarantine of the same path replaced it): kept, never deleted.
RESOLVED_PREFIX = QUARANTINE_PREFIX + "resolved/"
ERROR_SUFFIX = ".error.json"
FORMATS = ("jsonl", "csv")
CONTRACT_PATH = "<entity>/transaction_date=YYYY-MM-DD/<batch-id>.<jsonl|csv>"
# A batch id never starts with a dot: a hidden file is a file still being written.
_BATCH = r"[A-Za-z0-9_-][A-Za-z0-9._-]*"
_PATH_RE = re.compile(
    r"^(?P<entity>[a-z_]+)/transaction_date=(?P<date>\d{4}-\d{2}-\d{2})/"
    rf"(?P<batch>{_BATCH})\.(?P<fmt>jsonl|csv)$"
)
_DAY_FOLDER_RE = re.compile(r"^transaction_date=(?P<date>\d{4}-\d{2}-\d{2})$")
_BATCH_RE = re.compile(rf"^{_BATCH}$")
_MAX_DEPTH = 16  # folders below the root that list_landed walks (contract files sit at 2)


@dataclass(frozen=True, order=True)
class LandingFile:
    """One file in the zone. ``version`` changes whenever the file's content may have
    (GCS generation, or the local file's newest of mtime/ctime in ns) and orders arrivals.

    ``entity`` and ``partition_date`` exist for contract paths only (``list_files``); a
    stray from ``list_strays`` has a version, a path and a size."""

    version: int
    path: str
    size: int

    @property
    def entity(self) -> str:
        return parse_landing_path(self.path).entity

    @property
    def partition_date(self) -> date:
        return parse_landing_path(self.path).partition_date


@dataclass(frozen=True)
class LandingPath:
    entity: str
    partition_date: date
    batch_id: str
    fmt: str


def landing_path(entity: str, partition_date: date, batch_id: str, fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    return f"{entity}/transaction_date={partition_date.isoformat()}/{batch_id}.{fmt}"


def parse_landing_path(path: str) -> LandingPath:
    """Split a contract path into its parts; raise ValueError saying what is wrong (and
    what the contract expects) for anything else."""
    match = _PATH_RE.match(path)
    if not match or match["entity"] not in ENTITIES:
        raise ValueError(f"{path!r} is not {CONTRACT_PATH}: {_path_problem(path)}")
    try:
        day = date.fromisoformat(match["date"])
    except ValueError:
        raise ValueError(
            f"{path!r} has an impossible date {match['date']!r} in its folder name"
        ) from None
    return LandingPath(match["entity"], day, match["batch"], match["fmt"])


def _path_problem(path: str) -> str:
    """The first way ``path`` departs from the contract, in words."""
    parts = path.split("/")
    if len(parts) != 3:
        return (
            f"it is {len(parts)} level(s) deep; a landing file sits exactly in "
            "<entity>/transaction_date=YYYY-MM-DD/, not above it or in a folder below it"
        )
    entity_name, folder, name = parts
    if entity_name not in ENTITIES:
        hint = " (entity folders are lower case)" if entity_name.lower() in ENTITIES else ""
        return f"{entity_name!r} is not an entity{hint}; the entities are " + ", ".join(
            sorted(ENTITIES)
        )
    folder_match = _DAY_FOLDER_RE.match(folder)
    if not folder_match:
        return f"the folder {folder!r} is not transaction_date=YYYY-MM-DD"
    stem, dot, extension = name.rpartition(".")
    if not dot:
        return "the file name has no extension: use .jsonl or .csv"
    if extension not in FORMATS:
        return f"'.{extension}' is not a landing file type: use .jsonl or .csv (lower case)"
    if not _BATCH_RE.match(stem):
        return (
            f"the batch id {stem!r} may only use ASCII letters, digits, '.', '_' and '-' "
            "(no spaces, quotes or other characters) and must not start with '.'"
        )
    return "it does not match the contract"


def landing_path_problem(path: str) -> str | None:
    """None for a contract path, else the reason it is not one (for a quarantine report)."""
    try:
        parse_landing_path(path)
    except ValueError as error:
        return str(error)
    return None


def is_landing_path(path: str) -> bool:
    try:
        parse_landing_path(path)
    except ValueError:
        return False
    return True


def is_hidden(path: str) -> bool:
    """A path with a part starting with ``.``: a file being written (``.<name>.partial``)
    or a tool's own file. Never listed, loaded or quarantined."""
    return any(part.startswith(".") for part in path.split("/"))


DEFAULT_WHAT_TO_DO = (
    "Fix or re-export the file and drop it again at its original path; "
    "the landing sensor will pick it up as a new file."
)


def quarantine_report(path: str, reason: str, what_to_do: str | None = None) -> bytes:
    report = {
        "file": path,
        "reason": reason,
        "quarantined_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "what_to_do": what_to_do or DEFAULT_WHAT_TO_DO,
    }
    return (json.dumps(report, indent=2, ensure_ascii=False) + "\n").encode()


class LandingZone(dg.ConfigurableResource):
    """What every landing zone can do; ``LocalLandingZone`` and ``GCSLandingZone`` implement it."""

    def uri(self) -> str:
        raise NotImplementedError

    def list_files(
        self, entity: str | None = None, day: date | None = None
    ) -> Iterator[LandingFile]:
        """Contract files (quarantine excluded), optionally of one entity and/or one
        partition date, in no particular order."""
        raise NotImplementedError

    def list_landed(self) -> Iterator[LandingFile]:
        """Every file in the zone, contract paths and strays alike, in no particular order;
        never what is under ``quarantine/``, never a hidden file (see ``is_hidden``)."""
        raise NotImplementedError

    def list_strays(self) -> Iterator[LandingFile]:
        """The files of ``list_landed`` that are not contract paths."""
        return (f for f in self.list_landed() if not is_landing_path(f.path))

    def is_settled(self, file: LandingFile, now: datetime | None = None) -> bool:
        """Whether ``file`` is whole: its writer is done with it. True unless the zone can
        show a file while it is still being written (see ``LocalLandingZone``)."""
        return True

    def read_bytes(self, path: str) -> bytes:
        raise NotImplementedError

    def write_bytes(self, path: str, data: bytes) -> None:
        raise NotImplementedError

    def quarantine_file(self, path: str, reason: str, what_to_do: str | None = None) -> str:
        """Move ``path`` under ``quarantine/`` with ``<name>.error.json`` beside it (the
        reason, and what to do about it) and return the quarantined path. Nothing is
        deleted: an earlier quarantine of the same path moves to ``quarantine/resolved/``
        first."""
        raise NotImplementedError

    # Quarantine bookkeeping. A quarantined contract file is *unresolved* while it sits at
    # quarantine/<path>: quarantining moved it away from <path>, so a file that lands there
    # since is its correction, and resolve_quarantined moves the old copy and its report to
    # quarantine/resolved/ (the sensor and the raw step call it for every file they load).

    def list_quarantined(self, entity: str | None = None, day: date | None = None) -> list[str]:
        """Original (contract) paths of the files sitting in quarantine, optionally of one
        entity and/or one partition date, sorted; never what is under
        ``quarantine/resolved/``, never a report, never a stray's (not a contract path)."""
        found = []
        for name in [entity] if entity else sorted(ENTITIES):
            folder = f"{QUARANTINE_PREFIX}{name}/"
            if day is not None:
                folder += f"transaction_date={day.isoformat()}/"
            for path in self._list_under(folder):
                original = path[len(QUARANTINE_PREFIX) :]
                if not original.endswith(ERROR_SUFFIX) and is_landing_path(original):
                    found.append(original)
        return sorted(found)

    def quarantine_reason(self, path: str) -> str | None:
        """The reason in the report of the quarantined ``path`` (None without a report)."""
        try:
            report = json.loads(self.read_bytes(QUARANTINE_PREFIX + path + ERROR_SUFFIX))
        except (FileNotFoundError, ValueError):
            return None
        except Exception as error:  # GCS NotFound
            if type(error).__name__ == "NotFound":
                return None
            raise
        return str(report.get("reason", ""))

    def resolve_quarantined(self, path: str) -> list[str]:
        """Move the quarantined copy of ``path`` and its report (whichever exist) to
        ``quarantine/resolved/<path>`` (``<batch>.<n>.<ext>`` when that name is taken)
        and return where they went; nothing when ``path`` is not in quarantine."""
        sources = [QUARANTINE_PREFIX + path, QUARANTINE_PREFIX + path + ERROR_SUFFIX]
        present = [source for source in sources if self._exists(source)]
        if not present:
            return []
        target = self._free_resolved_name(path)
        moved = []
        for source in present:
            destination = target + (ERROR_SUFFIX if source.endswith(ERROR_SUFFIX) else "")
            if self._move(source, destination):
                moved.append(destination)
        return moved

    def _free_resolved_name(self, path: str) -> str:
        folder, _, name = path.rpartition("/")
        stem, _, extension = name.rpartition(".")
        candidate, number = RESOLVED_PREFIX + path, 0
        while self._exists(candidate) or self._exists(candidate + ERROR_SUFFIX):
            number += 1
            candidate = f"{RESOLVED_PREFIX}{folder}/{stem}.{number}.{extension}"
        return candidate

    def _list_under(self, folder: str) -> Iterator[str]:
        """Every file path (relative to the root) under ``folder`` (ending in /)."""
        raise NotImplementedError

    def _exists(self, path: str) -> bool:
        raise NotImplementedError

    def _move(self, source: str, destination: str) -> bool:
        """Move a file inside the zone; False when ``source`` is gone already."""
        raise NotImplementedError


class LocalLandingZone(LandingZone):
    """The embedded default: a folder on disk (``data/landing`` unless configured).

    A file in a folder is visible while its writer is still writing it. Writers should
    write ``.<name>.partial`` (hidden) and rename it when done, as ``write_bytes`` does; a
    file written in place is taken only once its version (newest of mtime and ctime) is
    ``settle_seconds`` old, so a writer that pauses for less than that is never read half
    way (see ``is_settled``).
    """

    root: str = Field(description="Folder that holds the landing files.")
    settle_seconds: float = Field(
        default=10.0,
        description=(
            "A file is taken once it has not changed for this long (a writer that writes in "
            "place must not pause longer between two writes). 0 takes files at once."
        ),
    )

    def uri(self) -> str:
        return str(Path(self.root).resolve())

    def _abs(self, path: str) -> Path:
        if path.startswith("/") or ".." in Path(path).parts:
            raise ValueError(f"landing paths are relative and stay inside the zone: {path!r}")
        return Path(self.root) / path

    def list_files(
        self, entity: str | None = None, day: date | None = None
    ) -> Iterator[LandingFile]:
        root = Path(self.root)
        for name in [entity] if entity else sorted(ENTITIES):
            entity_dir = root / name
            if day is not None:
                day_dirs = [entity_dir / f"transaction_date={day.isoformat()}"]
            elif entity_dir.is_dir():
                day_dirs = [Path(d.path) for d in os.scandir(entity_dir) if d.is_dir()]
            else:
                day_dirs = []
            for day_dir in day_dirs:
                if not day_dir.is_dir():
                    continue
                for item in os.scandir(day_dir):
                    rel = f"{name}/{day_dir.name}/{item.name}"
                    if not item.is_file() or not is_landing_path(rel):
                        continue
                    stat = item.stat()
                    yield _local_file(rel, stat)

    def list_landed(self) -> Iterator[LandingFile]:
        yield from self._walk(Path(self.root), "", depth=0)

    def _walk(self, folder: Path, prefix: str, depth: int) -> Iterator[LandingFile]:
        # Symlinked folders are followed, as list_files does; the depth bounds a loop.
        if depth > _MAX_DEPTH:
            return
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            return
        for entry in entries:
            rel = prefix + entry.name
            if entry.name.startswith(".") or rel + "/" == QUARANTINE_PREFIX:
                continue
            try:
                if entry.is_dir():
                    yield from self._walk(Path(entry.path), rel + "/", depth + 1)
                    continue
                stat = entry.stat()
            except FileNotFoundError:  # gone since the folder was read
                continue
            if stat_module.S_ISREG(stat.st_mode):
                yield _local_file(rel, stat)

    def is_settled(self, file: LandingFile, now: datetime | None = None) -> bool:
        if self.settle_seconds <= 0:
            return True
        now_ns = int((now or datetime.now(UTC)).timestamp() * 1e9)
        return file.version <= now_ns - int(self.settle_seconds * 1e9)

    def read_bytes(self, path: str) -> bytes:
        return self._abs(path).read_bytes()

    def write_bytes(self, path: str, data: bytes) -> None:
        target = self._abs(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a reader never sees half a file.
        partial = target.with_name(f".{target.name}.partial")
        partial.write_bytes(data)
        partial.replace(target)

    def quarantine_file(self, path: str, reason: str, what_to_do: str | None = None) -> str:
        source = self._abs(path)
        if not source.is_file():
            raise FileNotFoundError(f"{self.uri()}/{path} does not exist")
        quarantined = QUARANTINE_PREFIX + path
        self.resolve_quarantined(path)  # an earlier quarantine of this path is kept, moved
        target = self._abs(quarantined)
        target.parent.mkdir(parents=True, exist_ok=True)
        report = quarantine_report(path, reason, what_to_do)
        target.with_name(target.name + ".error.json").write_bytes(report)
        source.replace(target)
        return quarantined

    def _list_under(self, folder: str) -> Iterator[str]:
        base = self._abs(folder.rstrip("/"))
        if not base.is_dir():
            return
        for dirpath, _, names in os.walk(base):
            for name in names:
                yield (Path(dirpath) / name).relative_to(self.root).as_posix()

    def _exists(self, path: str) -> bool:
        return self._abs(path).is_file()

    def _move(self, source: str, destination: str) -> bool:
        target = self._abs(destination)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._abs(source).replace(target)
        except FileNotFoundError:
            return False
        return True


class GCSLandingZone(LandingZone):
    """Production: a prefix in a Google Cloud Storage bucket.

    An object becomes visible only once its upload has finished (and a rewrite replaces
    it whole, with a new generation), so every listed object is whole: ``is_settled`` is
    always true here and a new object is taken on the next tick.

    Credentials come from ``gcp_credentials`` (a service-account key, see
    lib/gcp_credentials.py) or else Application Default Credentials; with
    ``STORAGE_EMULATOR_HOST`` set the client talks to an emulator with anonymous
    credentials.
    """

    bucket: str = Field(description="Bucket name, without gs://.")
    prefix: str = Field(default="", description="Folder inside the bucket, e.g. 'landing'.")
    project: str | None = Field(default=None, description="GCP project (defaults to ADC's).")
    list_page_size: int = Field(default=1000, description="Objects per listing page.")
    gcp_credentials: str | None = Field(
        default=None,
        description="Service-account key, base64 JSON (GCP_CREDENTIALS); None: ADC.",
    )

    _client: object | None = PrivateAttr(default=None)

    def uri(self) -> str:
        return f"gs://{self.bucket}/{self._root()}".rstrip("/")

    def _root(self) -> str:
        return f"{self.prefix.strip('/')}/" if self.prefix.strip("/") else ""

    def _bucket(self):
        from google.cloud import storage

        if self._client is None:
            if os.environ.get("STORAGE_EMULATOR_HOST"):
                from google.auth.credentials import AnonymousCredentials

                self._client = storage.Client(
                    project=self.project or "local-emulator", credentials=AnonymousCredentials()
                )
            else:
                from retail_platform.lib.gcp_credentials import service_account_credentials

                self._client = storage.Client(
                    project=self.project,
                    credentials=service_account_credentials(self.gcp_credentials),
                )
        return self._client.bucket(self.bucket)  # type: ignore[attr-defined]

    def list_files(
        self, entity: str | None = None, day: date | None = None
    ) -> Iterator[LandingFile]:
        root = self._root()
        bucket = self._bucket()
        folder = f"transaction_date={day.isoformat()}/" if day else ""
        for name in [entity] if entity else sorted(ENTITIES):
            blobs = bucket.client.list_blobs(
                bucket,
                prefix=f"{root}{name}/{folder}",
                fields="items(name,generation,size),nextPageToken",
                page_size=self.list_page_size,
            )
            for blob in blobs:
                rel = blob.name[len(root) :]
                if is_landing_path(rel):
                    yield LandingFile(version=int(blob.generation), path=rel, size=int(blob.size))

    def list_landed(self) -> Iterator[LandingFile]:
        root = self._root()
        bucket = self._bucket()
        fields = "items(name,generation,size),prefixes,nextPageToken"
        # The top level with a delimiter, so quarantine/ (which only grows) is not walked.
        top = bucket.client.list_blobs(
            bucket, prefix=root, delimiter="/", fields=fields, page_size=self.list_page_size
        )
        yield from self._blob_files(top, root)
        for folder in sorted(top.prefixes):
            rel = folder[len(root) :]
            if rel == QUARANTINE_PREFIX or is_hidden(rel.rstrip("/")):
                continue
            blobs = bucket.client.list_blobs(
                bucket, prefix=folder, fields=fields, page_size=self.list_page_size
            )
            yield from self._blob_files(blobs, root)

    @staticmethod
    def _blob_files(blobs, root: str) -> Iterator[LandingFile]:
        for blob in blobs:
            rel = blob.name[len(root) :]
            # A name ending in / is a console "folder", not a file.
            if rel and not rel.endswith("/") and not is_hidden(rel):
                yield LandingFile(version=int(blob.generation), path=rel, size=int(blob.size))

    def read_bytes(self, path: str) -> bytes:
        return self._bucket().blob(self._root() + path).download_as_bytes()

    def write_bytes(self, path: str, data: bytes) -> None:
        content_type = "text/csv" if path.endswith(".csv") else "application/x-ndjson"
        self._bucket().blob(self._root() + path).upload_from_string(data, content_type=content_type)

    def quarantine_file(self, path: str, reason: str, what_to_do: str | None = None) -> str:
        bucket = self._bucket()
        source = bucket.get_blob(self._root() + path)
        if source is None:
            raise FileNotFoundError(f"{self.uri()}/{path} does not exist")
        quarantined = QUARANTINE_PREFIX + path
        self.resolve_quarantined(path)  # an earlier quarantine of this path is kept, moved
        bucket.blob(self._root() + quarantined + ERROR_SUFFIX).upload_from_string(
            quarantine_report(path, reason, what_to_do), content_type="application/json"
        )
        bucket.copy_blob(source, bucket, self._root() + quarantined)
        # Delete only the generation we copied: a newer delivery at the same path survives.
        source.delete(if_generation_match=source.generation)
        return quarantined

    def _list_under(self, folder: str) -> Iterator[str]:
        root = self._root()
        bucket = self._bucket()
        blobs = bucket.client.list_blobs(
            bucket, prefix=root + folder, fields="items(name),nextPageToken",
            page_size=self.list_page_size,
        )  # fmt: skip
        for blob in blobs:
            if not blob.name.endswith("/"):
                yield blob.name[len(root) :]

    def _exists(self, path: str) -> bool:
        return self._bucket().get_blob(self._root() + path) is not None

    def _move(self, source: str, destination: str) -> bool:
        # GCS has no move: copy, then delete only the generation copied (as quarantine_file).
        from google.api_core import exceptions

        bucket = self._bucket()
        blob = bucket.get_blob(self._root() + source)
        if blob is None:
            return False
        bucket.copy_blob(blob, bucket, self._root() + destination)
        # Gone, or replaced by a newer object since: the newer one stays.
        with contextlib.suppress(exceptions.NotFound, exceptions.PreconditionFailed):
            blob.delete(if_generation_match=blob.generation)
        return True


def _local_file(rel: str, stat: os.stat_result) -> LandingFile:
    # ctime too: a file moved in with mv keeps its old mtime but still counts as new.
    version = max(stat.st_mtime_ns, stat.st_ctime_ns)
    return LandingFile(version=version, path=rel, size=stat.st_size)


def landing_zone_from_uri(uri: str) -> LocalLandingZone | GCSLandingZone:
    """``gs://bucket/prefix`` gives a GCS zone; anything else is a local folder."""
    if uri.startswith("gs://"):
        bucket, _, prefix = uri[len("gs://") :].partition("/")
        if not bucket:
            raise ValueError(f"no bucket in {uri!r}")
        return GCSLandingZone(bucket=bucket, prefix=prefix)
    return LocalLandingZone(root=uri)


def landed_span(zone: LandingZone) -> tuple[date, date] | None:
    """The first and the last ``transaction_date`` with contract files in ``zone`` (late
    batches land in their own day's folder, so the last is the last day delivered), or
    None when nothing landed. One listing of every entity."""
    days = [file.partition_date for file in zone.list_files()]
    return (min(days), max(days)) if days else None
