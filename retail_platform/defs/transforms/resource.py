"""The dbt CLI resource, minus what it would cost on every invocation."""

import os
import sys
import uuid
from collections.abc import Mapping, Sequence
from functools import cached_property
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

from dagster_dbt import DbtCliInvocation, DbtCliResource
from packaging import version
from pydantic import Field

from retail_platform.defs.transforms.in_process import invocations
from retail_platform.defs.transforms.project import DBT_TARGET_PATH_ENV, dbt_project
from retail_platform.settings import settings


class RetailDbtCliResource(DbtCliResource):
    """``DbtCliResource`` minus three costs paid on every invocation.

    * It starts dbt as a subprocess, which imports dbt and sets up its adapter each time;
      by default dbt runs in the step's process instead (in_process.py).

    * It learns dbt's version by running ``dbt --version``, which also asks PyPI for the
      latest release of dbt-core and of every adapter: several seconds per run (measured
      9 s here), and a network call from every pipeline run. dbt-core is installed beside
      this interpreter, so its version is read from the package metadata instead.
    * It loads dbt's project, profile and adapter inside Dagster's process (4 s the first
      time, 0.7 s after), only for ``fetch_row_counts()``/``fetch_column_metadata()``. We
      count rows ourselves once dbt has exited (DuckDB allows one writing process), and
      column schemas come from the manifest, so the adapter is never loaded.
    """

    in_process: bool = Field(
        default=True,
        description=(
            "Run dbt inside the step's process (dbtRunner) instead of as a subprocess: the "
            "imports and adapter set-up are paid once per process, not per invocation."
        ),
    )

    dbt_env: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Environment variables for each dbt invocation (sql/profiles.yml reads them), "
            "on top of the process's own."
        ),
    )

    def cli(self, args: Sequence[str], **kwargs: Any) -> DbtCliInvocation:
        # Both given to the invocation, never through os.environ: dbt may still be running
        # (on a thread, in_process.py) after cli() returns.
        if kwargs.get("target_path") is None:
            kwargs["target_path"] = run_folder(kwargs.get("context"))
        with invocations(in_this_process=self.in_process, env=self.dbt_env):
            return super().cli(args, **kwargs)

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(installed_version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None


def dbt_resource(
    in_process: bool | None = None, dbt_env: Mapping[str, str] | None = None
) -> RetailDbtCliResource:
    """dbt in the step's process unless ``in_process`` (default: RETAIL_DBT_IN_PROCESS)
    says otherwise; ``dbt_env`` in each invocation's environment."""
    # The dbt beside this interpreter: PATH need not include the venv.
    return RetailDbtCliResource(
        project_dir=dbt_project,
        dbt_executable=dbt_executable(),
        in_process=settings().dbt_in_process if in_process is None else in_process,
        dbt_env=dict(dbt_env or {}),
    )


def run_folder(context: Any = None) -> Path:
    """An invocation's own dbt target folder, named as dagster-dbt names it
    (``<op>-<run>-<id>``, run_folders.py prunes them), under this target's folder
    (sql/target/<target>, where `make setup` parsed and the shared parse state is kept),
    or under ``$DBT_TARGET_PATH`` when the environment sets it. (dagster-dbt would place it
    under ``$DBT_TARGET_PATH`` or ``target``, reading the variable from the environment.)"""
    base = Path(os.environ.get(DBT_TARGET_PATH_ENV) or dbt_project.target_path)
    unique = str(uuid.uuid4())[:7]
    if context is None:
        return base / unique
    return base / f"{context.op_execution_context.op.name}-{context.run.run_id[:7]}-{unique}"


def dbt_executable() -> str:
    """The dbt beside this interpreter (the venv's), so PATH need not include the venv."""
    return str(Path(sys.executable).with_name("dbt"))
