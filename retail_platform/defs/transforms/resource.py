"""The dbt CLI resource, minus what it would cost on every invocation."""

import sys
from collections.abc import Sequence
from functools import cached_property
from importlib.metadata import version as installed_version
from pathlib import Path

from dagster_dbt import DbtCliResource
from packaging import version

from retail_platform.defs.transforms.project import dbt_project


class RetailDbtCliResource(DbtCliResource):
    """``DbtCliResource`` minus two costs paid on every invocation.

    * It learns dbt's version by running ``dbt --version``, which also asks PyPI for the
      latest release of dbt-core and of every adapter: several seconds per run (measured
      9 s here), and a network call from every pipeline run. dbt-core is installed beside
      this interpreter, so its version is read from the package metadata instead.
    * It loads dbt's project, profile and adapter inside Dagster's process (4 s the first
      time, 0.7 s after), only for ``fetch_row_counts()``/``fetch_column_metadata()``. We
      count rows ourselves once dbt has exited (DuckDB allows one writing process), and
      column schemas come from the manifest, so the adapter is never loaded.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(installed_version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None


def dbt_resource() -> RetailDbtCliResource:
    # The dbt beside this interpreter: PATH need not include the venv.
    return RetailDbtCliResource(
        project_dir=dbt_project, dbt_executable=str(Path(sys.executable).with_name("dbt"))
    )
