"""The dbt CLI resource, minus a network round trip per invocation."""

import sys
from functools import cached_property
from importlib.metadata import version as installed_version
from pathlib import Path

from dagster_dbt import DbtCliResource
from packaging import version

from retail_platform.defs.transforms.project import dbt_project


class RetailDbtCliResource(DbtCliResource):
    """``DbtCliResource`` learns dbt's version by running ``dbt --version``, which also asks
    PyPI for the latest release of dbt-core and of every adapter: several seconds per run
    (measured 9 s here), and a network call from every pipeline run. dbt-core is installed
    beside this interpreter, so its version is read from the package metadata instead."""

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(installed_version("dbt-core"))


def dbt_resource() -> RetailDbtCliResource:
    # The dbt beside this interpreter: PATH need not include the venv.
    return RetailDbtCliResource(
        project_dir=dbt_project, dbt_executable=str(Path(sys.executable).with_name("dbt"))
    )
