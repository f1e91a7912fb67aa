"""Where source systems drop their files: a local folder or a GCS bucket prefix.

Both implementations share one interface (``LandingZone``) so the sensor, the raw
assets and the simulator never know which one they talk to. Paths are always
relative to the zone's root and follow the contract:
``<entity>/transaction_date=YYYY-MM-DD/<batch-id>.<jsonl|csv>``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
from pydantic import Field, PrivateAttr

from retail_platform.lib.entities import ENTITIES

QUARANTINE_PREFIX = "quarantine/"
FORMATS = ("jsonl", "csv")
_PATH_RE = re.compile(
    r"^(?P<entity>[a-z_]+)/transaction_date=(?P<date>\d{4}-\d{2}-\d{2})/"
    r"(?P<batch>[A-Za-z0-9._-]+)\.(?P<fmt>jsonl|csv)$"
)


@dataclass(frozen=True, order=True)
class LandingFile:
    """One file in the zone. ``version`` changes whenever the file's content may have
    (GCS generation, or the local file's newest of mtime/ctime in ns) and orders arrivals."""

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
    """Split a contract path into its parts; raise ValueError for anything else."""
    match = _PATH_RE.match(path)
    if not match or match["entity"] not in ENTITIES:
        raise ValueError(
            f"{path!r} is not <entity>/transaction_date=YYYY-MM-DD/<batch>.<jsonl|csv>"
        )
    try:
        day = date.fromisoformat(match["date"])
    except ValueError:
        raise ValueError(f"{path!r} has an impossible date {match['date']!r}") from None
    return LandingPath(match["entity"], day, match["batch"], match["fmt"])


def is_landing_path(path: str) -> bool:
    try:
        parse_landing_path(path)
    except ValueError:
        return False
    return True


def quarantine_report(path: str, reason: str) -> bytes:
    report = {
        "file": path,
        "reason": reason,
        "quarantined_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "what_to_do": (
            "Fix or re-export the file and drop it again at its original path; "
            "the landing sensor will pick it up as a new file."
        ),
    }
    return (json.dumps(report, indent=2) + "\n").encode()


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

    def read_bytes(self, path: str) -> bytes:
        raise NotImplementedError

    def write_bytes(self, path: str, data: bytes) -> None:
        raise NotImplementedError

    def quarantine_file(self, path: str, reason: str) -> str:
        """Move ``path`` under ``quarantine/`` with ``<name>.error.json`` beside it and
        return the quarantined path. Nothing is deleted."""
        raise NotImplementedError


class LocalLandingZone(LandingZone):
    """The embedded default: a folder on disk (``data/landing`` unless configured)."""

    root: str = Field(description="Folder that holds the landing files.")

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
                    version = max(stat.st_mtime_ns, stat.st_ctime_ns)
                    yield LandingFile(version=version, path=rel, size=stat.st_size)

    def read_bytes(self, path: str) -> bytes:
        return self._abs(path).read_bytes()

    def write_bytes(self, path: str, data: bytes) -> None:
        target = self._abs(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a reader never sees half a file.
        partial = target.with_name(f".{target.name}.partial")
        partial.write_bytes(data)
        partial.replace(target)

    def quarantine_file(self, path: str, reason: str) -> str:
        source = self._abs(path)
        quarantined = QUARANTINE_PREFIX + path
        target = self._abs(quarantined)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.with_name(target.name + ".error.json").write_bytes(quarantine_report(path, reason))
        source.replace(target)
        return quarantined


class GCSLandingZone(LandingZone):
    """Production: a prefix in a Google Cloud Storage bucket.

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

    def read_bytes(self, path: str) -> bytes:
        return self._bucket().blob(self._root() + path).download_as_bytes()

    def write_bytes(self, path: str, data: bytes) -> None:
        content_type = "text/csv" if path.endswith(".csv") else "application/x-ndjson"
        self._bucket().blob(self._root() + path).upload_from_string(data, content_type=content_type)

    def quarantine_file(self, path: str, reason: str) -> str:
        bucket = self._bucket()
        source = bucket.get_blob(self._root() + path)
        if source is None:
            raise FileNotFoundError(f"{self.uri()}/{path} does not exist")
        quarantined = QUARANTINE_PREFIX + path
        bucket.blob(self._root() + quarantined + ".error.json").upload_from_string(
            quarantine_report(path, reason), content_type="application/json"
        )
        bucket.copy_blob(source, bucket, self._root() + quarantined)
        # Delete only the generation we copied: a newer delivery at the same path survives.
        source.delete(if_generation_match=source.generation)
        return quarantined


def landing_zone_from_uri(uri: str) -> LocalLandingZone | GCSLandingZone:
    """``gs://bucket/prefix`` gives a GCS zone; anything else is a local folder."""
    if uri.startswith("gs://"):
        bucket, _, prefix = uri[len("gs://") :].partition("/")
        if not bucket:
            raise ValueError(f"no bucket in {uri!r}")
        return GCSLandingZone(bucket=bucket, prefix=prefix)
    return LocalLandingZone(root=uri)
