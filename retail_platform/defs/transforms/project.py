"""The dbt project in ``sql/``, prepared for the current target."""

import os
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from retail_platform.lib.targets import PROJECT_ROOT, current_target

DBT_PROJECT_DIR = PROJECT_ROOT / "sql"


# dagster-dbt looks for `dbt` on PATH (its manifest preparer too); `make dev` does not
# activate the venv, so put this interpreter's bin folder first.
_BIN = str(Path(sys.executable).parent)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")


# dagster-dbt keeps each run's dbt output under $DBT_TARGET_PATH and seeds it with the
# partial parse found there; point it at this target's folder, where `make setup` parsed.
os.environ["DBT_TARGET_PATH"] = str(Path("target") / current_target().name)


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


def ensure_manifest(project: DbtProject = dbt_project) -> Path:
    """``manifest.json`` for this target, (re)built with ``dbt parse`` when it is missing
    or older than any file of the dbt project (a fresh clone, an edited model)."""
    manifest = project.manifest_path
    if not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime(
        project.project_dir
    ):
        project.preparer.prepare(project)
    return manifest
