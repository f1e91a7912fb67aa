"""dbt invoked inside the run's process (``dbtRunner``) instead of as a subprocess.

A dbt subprocess pays Python's start, dbt's imports and its adapter's set-up on every
invocation, about 5 s here before it runs a model; a daily run has three. In the process,
the imports are paid once per run and a later invocation starts in about 1 s
(docs/performance.md). dagster-dbt reads a dbt process through four things: ``args``,
``stdout`` (dbt's JSON log lines), ``wait()`` and ``returncode``. :class:`DbtInThisProcess`
provides them from one ``dbtRunner`` invocation, so dagster-dbt turns its events into
materializations and check results exactly as it does a subprocess's.

dbt runs on a thread so that its lines reach the step's logs while it runs, as a
subprocess's do. dbt in one process is not thread-safe: invocations take a lock and run
one at a time.
"""

from __future__ import annotations

import ctypes
import json
import queue
import shutil
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dagster import get_dagster_logger
from dagster_dbt.core import resource as dbt_resource_module
from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation

from retail_platform.defs.transforms.run_folders import PARTIAL_PARSE
from retail_platform.settings import environment

# dbt's own exit codes: 1 when a model or test failed, 2 when dbt itself failed.
EXIT_FAILURE, EXIT_ERROR = 1, 2
_ONE_AT_A_TIME = threading.Lock()
PATH_SETTINGS = ("DBT_TARGET_PATH", "DBT_LOG_PATH", "DBT_PROFILES_DIR", "DBT_PROJECT_DIR")
logger = get_dagster_logger()


def paths_from(project_dir: Path, env: Mapping[str, str]) -> dict[str, str]:
    """dbt's path settings in ``env``, relative ones made absolute from ``project_dir``:
    a subprocess runs in the project folder, and dbt reads some (the log path) relative
    to the working directory."""
    return {
        name: str(project_dir / env[name])
        for name in PATH_SETTINGS
        if name in env and not Path(env[name]).is_absolute()
    }


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


class DbtOutput:
    """A dbt invocation's stdout: its JSON lines as dbt emits them, until it finishes."""

    def __init__(self) -> None:
        self._lines: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self.closed = False

    def put(self, line: bytes | None) -> None:
        """One line; None once dbt has finished."""
        self._lines.put(line)

    def __iter__(self) -> Iterator[bytes]:
        while True:
            try:  # a timeout keeps the wait interruptible (run termination)
                line = self._lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                return
            yield line

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> DbtOutput:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class DbtInThisProcess:
    """One dbt invocation on a thread of this process, shaped like the ``subprocess.Popen``
    dagster-dbt reads, so its output streams into the step's logs as it runs."""

    def __init__(self, args: Sequence[str], env: Mapping[str, str], project_dir: Path) -> None:
        self.args = list(args)
        self.returncode: int | None = None
        self.stdout = DbtOutput()
        # args[0] is the dbt executable a subprocess would have run.
        cli_args = [*self.args[1:], "--project-dir", str(project_dir)]
        env = {**env, **paths_from(project_dir, env)}
        _ONE_AT_A_TIME.acquire()  # released by the thread when dbt has finished
        self._thread = threading.Thread(
            target=self._invoke, args=(cli_args, {**env, "DBT_QUIET": "true"}), name="dbt",
            daemon=True,
        )  # fmt: skip
        self._thread.start()

    def _invoke(self, cli_args: list[str], env: dict[str, str]) -> None:
        from dbt.cli.main import dbtRunner
        from dbt_common.events.functions import msg_to_json

        def emit(event: Any) -> None:
            # What a subprocess prints on stdout: dbt's info level and above, as JSON.
            if event.info.level != "debug":
                self.stdout.put(msg_to_json(event).encode())

        try:
            # dbt reads its flags and env_var() from os.environ, where a subprocess
            # would have been given env (os.environ plus dbt's settings).
            with environment(env):
                try:
                    result = dbtRunner(callbacks=[emit]).invoke(cli_args)
                finally:
                    release_duckdb()
            if result.exception is not None:
                self.stdout.put(_error_line(result.exception))
            self.returncode = (
                0 if result.success else EXIT_ERROR if result.exception else EXIT_FAILURE
            )
        except BaseException as error:  # noqa: BLE001 - reported as dbt's error, never lost
            self.stdout.put(_error_line(error))
            self.returncode = EXIT_ERROR
        finally:
            self.stdout.put(None)
            _ONE_AT_A_TIME.release()

    def wait(self, timeout: float | None = None) -> int | None:
        self._thread.join(timeout)
        return self.returncode

    def send_signal(self, signal: int) -> None:
        """The run is being terminated: stop dbt as Ctrl-C would (dbt cancels its open
        queries), at the next Python instruction its thread runs."""
        if self._thread.ident is not None and self._thread.is_alive():
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(self._thread.ident), ctypes.py_object(KeyboardInterrupt)
            )


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
        logger.info(f"Running dbt in this process: `{' '.join(args[1:])}`.")
        return cls(
            process=DbtInThisProcess(args, env, project_dir),  # type: ignore[arg-type]
            project_dir=project_dir,
            target_path=target_path,
            project=dbt_project,
            **kwargs,
        )


def seed_partial_parse(target_path: Path) -> None:
    """What ``DbtCliInvocation.run`` does before it starts dbt: start the invocation's
    folder (``target_path``, absolute) from dbt's shared parse state in its parent folder
    (run_folders.py keeps it there)."""
    shared, own = target_path.parent / PARTIAL_PARSE, target_path / PARTIAL_PARSE
    if shared.is_file() and not own.exists():
        own.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shared, own)


@contextmanager
def invocations(in_this_process: bool, env: Mapping[str, str]) -> Iterator[None]:
    """dagster-dbt's ``DbtCliResource.cli`` starts dbt through ``DbtCliInvocation.run``;
    for the block, through :class:`InProcessDbtCliInvocation` when ``in_this_process``,
    and either way with ``env`` added to the invocation's environment (which dagster-dbt
    copies from ``os.environ``) and its folder seeded with the shared parse state."""
    saved = dbt_resource_module.DbtCliInvocation
    base = InProcessDbtCliInvocation if in_this_process else saved
    extra = dict(env)

    class Invocation(base):  # type: ignore[misc,valid-type]
        @classmethod
        def run(  # type: ignore[override]
            cls, *args: Any, env: dict[str, str], target_path: Path, **kwargs: Any
        ) -> DbtCliInvocation:
            seed_partial_parse(target_path)
            return super().run(*args, env={**env, **extra}, target_path=target_path, **kwargs)

    dbt_resource_module.DbtCliInvocation = Invocation  # type: ignore[misc]
    try:
        yield
    finally:
        dbt_resource_module.DbtCliInvocation = saved  # type: ignore[misc]
