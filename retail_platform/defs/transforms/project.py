"""The dbt project in ``sql/``, prepared for the current target.

Its manifest is built by ``make setup`` and in the image (deploy/image/Containerfile), with
:func:`ensure_manifest`; importing the code location only reads it (:func:`built_manifest`)
and never runs ``dbt parse``, except under ``dg dev`` (``make dev``) or ``dagster dev`` for
a manifest older than the project's files (dagster-dbt's ``prepare_if_dev`` convention: an
edited model reloads).
"""

import os
import sys
from pathlib import Path

from dagster import get_dagster_logger
from dagster_dbt import DbtProject

from retail_platform.lib.targets import PROJECT_ROOT, current_target
from retail_platform.settings import environment

DBT_PROJECT_DIR = PROJECT_ROOT / "sql"
#: dagster-dbt places each invocation's folder under it (and seeds it with the parse state
#: found there); resource.py sets it to this target's folder for each invocation.
DBT_TARGET_PATH_ENV = "DBT_TARGET_PATH"
#: Set by ``dg dev`` and ``dagster dev``; dagster-dbt reads it for ``prepare_if_dev``.
DEV_CLI_ENV = "DAGSTER_IS_DEV_CLI"


class ManifestMissing(FileNotFoundError):
    """dbt's manifest.json was never built for this target."""


def dbt_project_for(target_name: str) -> DbtProject:
    """One manifest per target (their compiled configs differ), under sql/target/<target>.

    No ``target=`` here: sql/profiles.yml picks it from RETAIL_TARGET, and passing
    ``--target`` only on some invocations would defeat dbt's partial parsing.
    """
    return DbtProject(
        project_dir=DBT_PROJECT_DIR,
        profiles_dir=DBT_PROJECT_DIR,
        target_path=Path("target") / target_name,
    )


dbt_project = dbt_project_for(current_target().name)


def _newest_source_mtime(project_dir: Path) -> float:
    sources = [project_dir / "dbt_project.yml", project_dir / "profiles.yml"]
    for folder in ("models", "macros", "tests"):
        sources += (project_dir / folder).rglob("*.*")
    return max(path.stat().st_mtime for path in sources if path.exists())


def is_stale(project: DbtProject) -> bool:
    """Whether ``manifest.json`` is missing or older than any file of the dbt project."""
    manifest = project.manifest_path
    return not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime(
        project.project_dir
    )


def ensure_manifest(project: DbtProject | None = None) -> Path:
    """``manifest.json`` for this target, (re)built with ``dbt parse`` when it is missing
    or older than any file of the dbt project (a fresh clone, an edited model): `make
    setup`, the image, the tests' session."""
    project = project or dbt_project
    if is_stale(project):
        # dagster-dbt's preparer runs the `dbt` on PATH; `make setup` does not activate the
        # venv, so this interpreter's bin folder comes first while it runs.
        path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
        with environment({"PATH": path}):
            project.preparer.prepare(project)
    return project.manifest_path


def built_manifest(project: DbtProject | None = None) -> Path:
    """The manifest the code location loads, built beforehand: missing, a clear error (no
    ``dbt parse`` at import); older than the project's files, re-parsed only under ``dagster
    dev``, elsewhere used as it is, with a warning."""
    project = project or dbt_project
    manifest = project.manifest_path
    if not manifest.exists():
        raise ManifestMissing(
            f"dbt's manifest {manifest} is missing: build it with `make setup` (or `python -c "
            '"from retail_platform.defs.transforms.project import ensure_manifest; '
            'ensure_manifest()"` with RETAIL_TARGET set as for this code location)'
        )
    if is_stale(project):
        if os.environ.get(DEV_CLI_ENV):
            return ensure_manifest(project)
        get_dagster_logger().warning(
            f"dbt's manifest {manifest} is older than files of the dbt project: run `make "
            "setup` to rebuild it"
        )
    return manifest
