"""A real PostgreSQL server for the tests: ``initdb`` into a temporary folder, ``postgres`` on a
free port of 127.0.0.1, password authentication, stopped with its process group.

PostgreSQL refuses to run as root, and CI runs as root: then the server runs as the
``postgres`` user that Debian's ``postgresql`` package creates (``setpriv``, which execs, so
the server is the process this module started), in a folder that user owns. The binaries come
from ``PATH`` or ``/usr/lib/postgresql/<version>/bin`` (Debian's place; .ci/run installs the
package when they are missing).
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from retail_platform_tests.helpers.emulators import free_port

SERVICE_USER = "postgres"


def postgres_bindir() -> Path:
    """Where ``initdb`` and ``postgres`` are; a clear error when PostgreSQL is not installed."""
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if versions:
        return Path(versions[-1]).parent
    raise RuntimeError(
        "PostgreSQL's initdb is not installed: `apt-get install postgresql` (.ci/run does)"
    )


class PostgresServer:
    """One server; one superuser, ``dagster``, with a random password; a database per test."""

    def __init__(self) -> None:
        self.bindir = postgres_bindir()
        self.port = free_port()
        self.host = "127.0.0.1"
        self.username = "dagster"
        self.password = secrets.token_urlsafe(16)
        # Not under pytest's tmp_path: that is private to root (0700), and the server may run
        # as another user.
        self.root = Path(tempfile.mkdtemp(prefix="retail-postgres-"))
        self.data = self.root / "data"
        self.log_path = self.root / "server.log"
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam(SERVICE_USER)
            except KeyError:
                raise RuntimeError(
                    "PostgreSQL does not run as root and there is no `postgres` user to run it "
                    "as: `apt-get install postgresql` creates it (.ci/run does)"
                ) from None
            os.chmod(self.root, 0o755)
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._as_user = [
                "setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups",
            ]  # fmt: skip
        password_file = self.root / "password"
        password_file.write_text(self.password + "\n")
        if self._as_user:
            os.chown(password_file, user.pw_uid, -1)
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", self.username,
            f"--pwfile={password_file}", "--auth=scram-sha-256", "--no-locale", "-E", "UTF8",
            "--no-sync",
        )  # fmt: skip
        password_file.unlink()
        self._log = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop)
        self._process = subprocess.Popen(
            [
                *self._as_user, str(self.bindir / "postgres"), "-D", str(self.data),
                "-p", str(self.port), "-c", "listen_addresses=127.0.0.1",
                "-c", f"unix_socket_directories={self.root}",
                # A test server: durability is not the point, speed is.
                "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                "-c", "max_connections=200",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self._wait_until_ready()

    def _run(self, *command: str) -> None:
        done = subprocess.run(
            [*self._as_user, *command], capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0:
            raise RuntimeError(f"{command[0]} failed:\n{done.stdout}{done.stderr}")

    def connect(self, database: str = "postgres"):
        import psycopg2

        return psycopg2.connect(
            host=self.host,
            port=self.port,
            user=self.username,
            password=self.password,
            dbname=database,
            connect_timeout=5,
        )

    def _wait_until_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"postgres exited: {self.log_tail()}")
            try:
                self.connect().close()
                return
            except Exception:  # not accepting connections yet
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"postgres not ready after {timeout}s: {self.log_tail()}")

    def create_database(self, name: str) -> None:
        connection = self.connect()
        connection.autocommit = True  # CREATE DATABASE cannot run in a transaction
        try:
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()

    def env(self, database: str) -> dict[str, str]:
        """The variables deploy/dagster.yaml reads."""
        return {
            "DAGSTER_PG_HOST": self.host,
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_USERNAME": self.username,
            "DAGSTER_PG_PASSWORD": self.password,
            "DAGSTER_PG_DB": database,
        }

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGINT)  # "fast" shutdown
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait(timeout=5)
        self._log.close()
        shutil.rmtree(self.root, ignore_errors=True)
