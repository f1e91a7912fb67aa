"""dbt invoked inside the run's process (``dbtRunner``) instead of as a subprocess.

A dbt subprocess pays Python's start, dbt's imports and its adapter's set-up on every
invocation, about 5 s here before it runs a model; a daily run has three. In the process,
the imports are paid once per run and a later invocation starts in about 1 s
(docs/performance.md). dagster-dbt reads a dbt process through four things: ``args``,
``stdout`` (dbt's JSON log lines), ``wait()`` and ``returncode``. :class:`DbtInThisProcess`
provides them from one ``dbtRunner`` invocation, so dagster-dbt turns its events into
materializations and check results exactly as it does a subprocess's.

dbt in one process is not thread-safe: invocations take a lock and run one at a time.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dagster import get_dagster_logger
from dagster._core.errors import DagsterExecutionInterruptedError
from dagster_dbt.core import resource as dbt_resource_module
from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation, _get_dbt_target_path

from retail_platform.defs.transforms.run_folders import PARTIAL_PARSE

# dbt's own exit codes: 1 when a model or test failed, 2 when dbt itself failed.
EXIT_FAILURE, EXIT_ERROR = 1, 2
_ONE_AT_A_TIME = threading.Lock()
logger = get_dagster_logger()


@contextmanager
def process_environment(env: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` is exactly ``env`` for the block (dbt reads its flags and
    ``env_var()`` from it, where a subprocess would get ``env``), then as before."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def release_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open after an invocation (the profile's
    ``keep_open``), so this process can open the file with its own settings and another
    process can open it at all."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # another adapter
        return
    with DuckDBConnectionManager._LOCK:
        environment, DuckDBConnectionManager._ENV = DuckDBConnectionManager._ENV, None
    if environment is not None:
        environment.close()


class DbtInThisProcess:
    """One finished dbt invocation, shaped like the ``subprocess.Popen`` dagster-dbt reads."""

    def __init__(self, args: Sequence[str], env: Mapping[str, str], project_dir: Path) -> None:
        from dbt.cli.main import dbtRunner
        from dbt_common.events.functions import msg_to_json

        self.args = list(args)
        lines: list[bytes] = []

        def keep(event: Any) -> None:
            # What a subprocess prints on stdout: dbt's info level and above, as JSON.
            if event.info.level != "debug":
                lines.append(msg_to_json(event).encode())

        # args[0] is the dbt executable a subprocess would have run.
        cli_args = [*self.args[1:], "--project-dir", str(project_dir)]
        with _ONE_AT_A_TIME, process_environment({**env, "DBT_QUIET": "true"}):
            try:
                result = dbtRunner(callbacks=[keep]).invoke(cli_args)
            finally:
                release_duckdb()
        if isinstance(result.exception, KeyboardInterrupt | DagsterExecutionInterruptedError):
            raise result.exception  # the run is being terminated: not a dbt failure
        if result.exception is not None:
            lines.append(_error_line(result.exception))
        self.returncode = 0 if result.success else EXIT_ERROR if result.exception else EXIT_FAILURE
        self.stdout = io.BytesIO(b"\n".join(lines))

    def wait(self, timeout: float | None = None) -> int:
        return self.returncode

    def send_signal(self, signal: int) -> None:
        """Nothing to forward: the invocation has finished by the time anyone could."""


def _error_line(exception: BaseException) -> bytes:
    """dbt's exception as the error line a subprocess would print before exiting."""
    event = {"info": {"level": "error", "msg": f"{type(exception).__name__}: {exception}",
                      "name": "InProcessInvocationError"}, "data": {}}  # fmt: skip
    return json.dumps(event).encode()


class InProcessDbtCliInvocation(DbtCliInvocation):
    """``DbtCliInvocation`` whose dbt ran in this process."""

    @classmethod
    def run(  # type: ignore[override]
        cls,
        args: Sequence[str],
        env: dict[str, str],
        project_dir: Path,
        target_path: Path,
        dbt_project: Any = None,
        **kwargs: Any,
    ) -> DbtCliInvocation:
        seed_partial_parse(project_dir, target_path)
        logger.info(f"Running dbt in this process: `{' '.join(args[1:])}`.")
        return cls(
            process=DbtInThisProcess(args, env, project_dir),  # type: ignore[arg-type]
            project_dir=project_dir,
            target_path=target_path,
            project=dbt_project,
            **kwargs,
        )


def seed_partial_parse(project_dir: Path, target_path: Path) -> None:
    """What ``DbtCliInvocation.run`` does before it starts dbt: start the invocation's
    folder from dbt's shared parse state."""
    shared_target = _get_dbt_target_path()
    if not shared_target.is_absolute():
        shared_target = project_dir / shared_target
    shared, own = shared_target / PARTIAL_PARSE, target_path / PARTIAL_PARSE
    if shared.is_file() and not own.exists():
        own.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shared, own)


@contextmanager
def invocations_in_this_process() -> Iterator[None]:
    """dagster-dbt's ``DbtCliResource.cli`` starts dbt through ``DbtCliInvocation.run``;
    for the block, through :class:`InProcessDbtCliInvocation`."""
    saved = dbt_resource_module.DbtCliInvocation
    dbt_resource_module.DbtCliInvocation = InProcessDbtCliInvocation  # type: ignore[misc]
    try:
        yield
    finally:
        dbt_resource_module.DbtCliInvocation = saved  # type: ignore[misc]
