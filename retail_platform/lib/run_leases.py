"""Whether the process running a Dagster run is still alive, asked of the operating system.

A run's process takes a *lease* before it claims a concurrency slot: an exclusive
``flock`` on ``<folder>/<run_id>.lease`` that it holds until the run ends. The kernel drops
the lock when the process dies however it dies (``kill -9``, the OOM killer, a reboot), so
a lease file nobody holds is a run whose process is gone, whatever its status still says.

Dagster records no such thing: every event carries the pid of the process that wrote it
(and the in-process executor logs "Executing steps in process (pid: N)"), but no host and
no process start time, so a pid alone cannot tell a dead run from a live process that got
its number after a reboot; open-source Dagster has no run worker heartbeats.

``flock`` locks belong to an open file, not to a process: a second ``open`` of the same
file in the same process conflicts with the first, so a process can check the leases of
runs it hosts itself (tests run two runs in one process). POSIX only (Linux, macOS): on a
platform without ``fcntl`` nothing is leased and no run is ever judged dead.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no leases, no run judged dead
    fcntl = None  # type: ignore[assignment]

SUFFIX = ".lease"


class RunLeases:
    """The leases in one folder (one per Dagster instance, on one machine)."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self._held: dict[str, int] = {}  # run id -> open descriptor holding its lock
        self._pid = os.getpid()

    def path(self, run_id: str) -> Path:
        return self.folder / f"{run_id}{SUFFIX}"

    def hold(self, run_id: str) -> None:
        """Take ``run_id``'s lease for this process (again: nothing happens). The file is
        locked before it gets its name, so no one ever sees it unlocked while alive."""
        if fcntl is None:
            return
        if self._pid != os.getpid():  # a forked child does not hold its parent's leases
            self._held, self._pid = {}, os.getpid()
        if run_id in self._held:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        temporary = self.folder / f".{run_id}.{os.getpid()}.tmp"
        fd = os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}
        os.write(fd, json.dumps(holder).encode())
        os.replace(temporary, self.path(run_id))
        self._held[run_id] = fd

    def release(self, run_id: str) -> None:
        """Give the lease back (the run ended in this process)."""
        fd = self._held.pop(run_id, None)
        if fd is None:
            return
        self.path(run_id).unlink(missing_ok=True)
        os.close(fd)

    def holds(self, run_id: str) -> bool:
        return run_id in self._held and self._pid == os.getpid()

    def leased_runs(self) -> list[str]:
        """Every run with a lease file, held or abandoned."""
        if not self.folder.is_dir():
            return []
        return sorted(p.name.removesuffix(SUFFIX) for p in self.folder.glob(f"*{SUFFIX}"))

    def holder(self, run_id: str) -> dict:
        """What the lease file says about the process that took it (pid, host, since)."""
        try:
            return json.loads(self.path(run_id).read_text() or "{}")
        except (OSError, ValueError):
            return {}

    @contextmanager
    def abandoned(self, run_id: str) -> Iterator[bool | None]:
        """``True`` (and the lease held by the caller until the block ends, so two processes
        never handle the same dead run) when the lease exists and no process holds it;
        ``False`` when a live process holds it; ``None`` when there is no lease (the run never
        claimed a slot through this instance's storage: its process cannot be checked)."""
        if fcntl is None:
            yield None
            return
        try:
            fd = os.open(self.path(run_id), os.O_RDWR)
        except FileNotFoundError:
            yield None
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)

    def remove(self, run_id: str) -> None:
        """Delete an abandoned lease (call inside ``abandoned``, which holds it)."""
        self.path(run_id).unlink(missing_ok=True)
