"""The dbt project in ``sql/``, prepared for the current target."""

from pathlib import Path

from dagster_dbt import DbtProject

from retail_platform.lib.targets import PROJECT_ROOT, current_target

DBT_PROJECT_DIR = PROJECT_ROOT / "sql"


def dbt_project_for(target_name: str) -> DbtProject:
    """One manifest per target (their compiled configs differ), under sql/target/<target>."""
    return DbtProject(
        project_dir=DBT_PROJECT_DIR,
        profiles_dir=DBT_PROJECT_DIR,
        target=target_name,
        target_path=Path("target") / target_name,
    )


dbt_project = dbt_project_for(current_target().name)


def ensure_manifest(project: DbtProject = dbt_project) -> Path:
    """``manifest.json`` is built by ``make setup`` (dbt parse); build it here if a fresh
    clone skipped that, and rebuild it on every load under ``dagster dev``."""
    if project.manifest_path.exists():
        project.prepare_if_dev()
    else:
        project.preparer.prepare(project)
    return project.manifest_path
