"""A local BigQuery emulator (bqemulator) for the tests, run as a real process on 127.0.0.1.

bqemulator pins other duckdb and sqlglot versions than the project, so it lives in its own
venv, ``.venv-bqemulator`` at the repository root, built from ``requirements.txt`` beside
this file and rebuilt whenever that file changes. ``serve.py`` starts it (see its docstring
for the start-up fixes it applies).

The real clients reach it with::

    emulator = BigQueryEmulator()
    client = emulator.client()  # google.cloud.bigquery.Client
    os.environ.update(emulator.env())  # for clients built elsewhere: Dagster, dbt

Known gaps of the emulator: ML.PREDICT, partition decorators (``table$20250101``), unaliased
struct fields, clustering metadata, dbt's dynamic ``insert_overwrite`` (its script's
``MERGE ... IN UNNEST(array_variable)``). A query the emulator answers with a 500 is retried
by google-cloud-bigquery for up to 10 minutes: pass ``retry``/``timeout`` in such tests.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from retail_platform_tests.helpers.emulators import LocalServer

if TYPE_CHECKING:
    from google.cloud import bigquery

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements.txt"
SERVE = HERE / "serve.py"
VENV = HERE.parents[2] / ".venv-bqemulator"
# HOME of the emulator's processes: DuckDB's spatial extension is installed under it.
HOME = VENV / "home"


def _run(*command: str | Path) -> None:
    args = [str(part) for part in command]
    result = subprocess.run(args, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout}{result.stderr}")


def emulator_python() -> Path:
    """The python of the emulator's venv, (re)built first if requirements.txt changed."""
    python = VENV / "bin" / "python"
    built_from = VENV / "requirements.txt"  # copy of the requirements the venv was built from
    with open(REQUIREMENTS, "rb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time, across processes
        if built_from.exists() and built_from.read_bytes() == REQUIREMENTS.read_bytes():
            return python
        shutil.rmtree(VENV, ignore_errors=True)
        uv = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))
        if uv:
            _run(uv, "venv", "--quiet", "--python", sys.executable, VENV)
            _run(uv, "pip", "install", "--quiet", "-r", REQUIREMENTS, "--python", python)
        else:
            _run(sys.executable, "-m", "venv", VENV)
            _run(python, "-m", "pip", "install", "--quiet", "-r", REQUIREMENTS)
        _run(python, SERVE, "--home", HOME, "--install-only")
        shutil.copyfile(REQUIREMENTS, built_from)
    return python


class BigQueryEmulator(LocalServer):
    """bqemulator, in memory, serving the BigQuery REST API at ``host``."""

    name = "bqemulator"
    stop_timeout = 10.0

    def __init__(self, project: str = "test-project") -> None:
        python = emulator_python()
        super().__init__(prefix="bqemulator-")
        self.project = project
        self.host = f"http://127.0.0.1:{self.port}"
        self._credentials = Path(self._dir.name) / "application_default_credentials.json"
        # Application Default Credentials holding a token that never expires, so that
        # clients which find their own credentials (dbt's `method: oauth`, Dagster's
        # resources) never ask Google's token endpoint for one.
        self._credentials.write_text(
            json.dumps(
                {
                    "type": "authorized_user",
                    "client_id": "bqemulator",
                    "client_secret": "bqemulator",
                    "refresh_token": "bqemulator",
                    "token": "bqemulator",
                    "expiry": "2999-01-01T00:00:00Z",
                }
            )
        )
        self._start(
            [
                str(python), str(SERVE),
                "--port", str(self.port),
                "--project", project,
                "--home", str(HOME),
            ],
            ready_url=f"{self.host}/healthz",
            timeout=60.0,
            cwd=self._dir.name,  # bqemulator reads a .bqemu.toml in its working directory
            env={**os.environ, "HOME": str(HOME)},
        )  # fmt: skip

    def env(self) -> dict[str, str]:
        """What another process (or os.environ) needs for its clients to use the emulator."""
        return {
            "BIGQUERY_EMULATOR_HOST": self.host,
            "GOOGLE_CLOUD_PROJECT": self.project,
            "GOOGLE_APPLICATION_CREDENTIALS": str(self._credentials),
        }

    def client(self) -> bigquery.Client:
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import bigquery

        return bigquery.Client(
            project=self.project,
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": self.host},
        )

    def dbt_target(self, dataset: str) -> dict[str, object]:
        """A dbt-bigquery profile target (an `outputs:` entry) for the emulator."""
        return {
            "type": "bigquery",
            "method": "oauth-secrets",  # a fixed token: no credentials are looked up
            "token": "bqemulator",
            "project": self.project,
            "dataset": dataset,
            "location": "US",
            "api_endpoint": self.host,
            "threads": 1,
            "job_retries": 0,
        }
