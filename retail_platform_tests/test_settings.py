"""retail_platform/settings.py owns every setting: each RETAIL_* variable the code or the dbt
project uses is declared there, README's table is generated from it, and nothing else in
the package writes to the environment."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from retail_platform.settings import (
    DEFAULT_DUCKDB_MEMORY_LIMIT,
    NAMES,
    PROJECT_ROOT,
    VARIABLES,
    Settings,
    SettingsError,
    environment_table,
)

PACKAGE = PROJECT_ROOT / "retail_platform"
SETTINGS_MODULE = PACKAGE / "settings.py"
RETAIL_NAME = re.compile(r"\bRETAIL_[A-Z0-9_]*[A-Z0-9]\b")
SQL_SKIPPED = ("target", "logs", "dbt_packages")


def _source_files() -> list[Path]:
    files = [p for p in PACKAGE.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    sql = PROJECT_ROOT / "sql"
    files += [
        p for p in sql.rglob("*") if p.is_file() and p.relative_to(sql).parts[0] not in SQL_SKIPPED
    ]
    return files


def _used_retail_names() -> dict[str, set[Path]]:
    used: dict[str, set[Path]] = {}
    for path in _source_files():
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        for name in RETAIL_NAME.findall(text):
            used.setdefault(name, set()).add(path)
    return used


def test_every_retail_variable_in_the_code_and_sql_is_declared_in_settings():
    used = _used_retail_names()
    undeclared = {name: sorted(str(p.relative_to(PROJECT_ROOT)) for p in paths)
                  for name, paths in used.items() if name not in NAMES}  # fmt: skip
    assert undeclared == {}, "declare them in retail_platform/settings.py VARIABLES"
    assert len(NAMES) == len(set(NAMES))
    # What the declarations say dbt reads, sql/ reads.
    sql = PROJECT_ROOT / "sql"
    read_in_sql = {name for name, paths in used.items() if any(sql in p.parents for p in paths)}
    said_dbt = {v.name for v in VARIABLES if "dbt" in v.read_by and v.name.startswith("RETAIL_")}
    assert said_dbt == read_in_sql


def test_the_readme_table_is_the_one_generated_from_settings():
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split("## Environment variables\n", 1)[1]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    start = section.splitlines().index(rows[0])
    table = "\n".join(section.splitlines()[start : start + len(rows)]) + "\n"
    assert table == environment_table(), (
        "README.md's table differs from retail_platform/settings.py: paste the output of "
        "`.venv/bin/python -m retail_platform.settings` into it"
    )
    listed = re.findall(r"^\| `([A-Z0-9_]+)` \|", table, flags=re.M)
    assert listed == list(NAMES)


def test_the_defaults_dbt_applies_are_the_documented_ones():
    """sql/profiles.yml and sql/dbt_project.yml apply their own defaults when a variable is
    unset: they must be the ones README shows."""
    profiles = (PROJECT_ROOT / "sql" / "profiles.yml").read_text()
    project = (PROJECT_ROOT / "sql" / "dbt_project.yml").read_text()
    default = {v.name: v.default.strip("`") for v in VARIABLES}
    assert f"env_var('RETAIL_TARGET', '{default['RETAIL_TARGET']}')" in profiles
    assert f"env_var('RETAIL_DUCKDB_MEMORY_LIMIT', '{DEFAULT_DUCKDB_MEMORY_LIMIT}')" in profiles
    assert default["RETAIL_DUCKDB_MEMORY_LIMIT"] == DEFAULT_DUCKDB_MEMORY_LIMIT
    assert f"churn_label_days: {default['RETAIL_CHURN_LABEL_DAYS']}\n" in project
    assert f"max_reject_rate: {default['RETAIL_MAX_REJECT_RATE']}\n" in project


def _settings(**values: str) -> Settings:
    return Settings(values={name: values.get(name) for name in NAMES})


def test_settings_default_and_check_each_value():
    defaults = _settings().check()
    assert (defaults.target, defaults.churn_engine, defaults.dbt_in_process) == (
        "local", "sklearn", True,
    )  # fmt: skip
    assert defaults.data_dir == PROJECT_ROOT / "data"
    assert defaults.duckdb_path == str(PROJECT_ROOT / "data" / "warehouse.duckdb")
    assert (defaults.duckdb_lock_retries, defaults.duckdb_lock_wait_seconds) == (6, 15.0)
    assert defaults.orders_deadline_hour_utc == 6
    assert defaults.alert_webhook_url is None and defaults.start_date is None
    assert _settings(RETAIL_TARGET="bigquery").churn_engine == "bqml"
    assert _settings(RETAIL_DATA_DIR="/srv/x").landing == "/srv/x/landing"
    bad = {
        "RETAIL_TARGET": "nowhere",
        "RETAIL_CHURN_ENGINE": "bqml",  # needs the bigquery target
        "RETAIL_START_DATE": "2025-13-01",
        "RETAIL_DBT_IN_PROCESS": "sometimes",
        "RETAIL_ORDERS_DEADLINE_HOUR_UTC": "24",
        "RETAIL_DUCKDB_LOCK_RETRIES": "many",
        "RETAIL_DUCKDB_LOCK_WAIT_SECONDS": "long",
    }
    for name, value in bad.items():
        with pytest.raises(SettingsError, match=f"^{name} must be"):
            _settings(**{name: value}).check()


def _is_environ(node: ast.AST | None) -> bool:
    """``os.environ`` or a bare ``environ``."""
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


ENVIRON_WRITES = {"setdefault", "update", "pop", "popitem", "clear", "__setitem__", "__delitem__"}


def environment_writes(tree: ast.AST) -> list[int]:
    """Lines that write to ``os.environ``: item assignment or deletion, a mutating method,
    ``putenv``/``unsetenv``, or ``os.environ`` given another name (writes through it would
    go unseen)."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.Delete):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        else:
            targets = []
        if any(isinstance(t, ast.Subscript) and _is_environ(t.value) for t in targets):
            lines.append(node.lineno)
        value = getattr(node, "value", None)
        if isinstance(node, ast.Assign | ast.AnnAssign) and value and _is_environ(value):
            lines.append(node.lineno)
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            mutates = name in ENVIRON_WRITES and _is_environ(getattr(func, "value", None))
            if mutates or name in ("putenv", "unsetenv"):
                lines.append(node.lineno)
    return sorted(lines)


def test_no_module_but_settings_writes_to_the_environment():
    found = {}
    for path in PACKAGE.rglob("*.py"):
        if path == SETTINGS_MODULE:
            continue
        lines = environment_writes(ast.parse(path.read_text(), str(path)))
        if lines:
            found[str(path.relative_to(PROJECT_ROOT))] = lines
    assert found == {}, (
        "write through retail_platform/settings.py (environment(), or a documented "
        "process-wide function there)"
    )
    # The scan sees each kind of write.
    sample = [
        "import os",
        "from os import environ",
        "os.environ['A'] = '1'",
        "os.environ.setdefault('A', '1')",
        "os.environ.update({})",
        "os.environ.pop('A')",
        "os.putenv('A', '1')",
        "del environ['A']",
        "env = os.environ",
        "os.environ.get('A')",
        "x = dict(os.environ)",
    ]
    assert environment_writes(ast.parse("\n".join(sample))) == [3, 4, 5, 6, 7, 8, 9]


def test_importing_the_code_location_without_a_manifest_runs_no_dbt(tmp_path):
    """The manifest is built by `make setup` and in the image: importing the definitions
    with none fails, saying how to build it, and starts no dbt (no subprocess, no dbtRunner)."""
    script = f"""
import shutil, subprocess, sys
from pathlib import Path

started = []
real_popen = subprocess.Popen
class Popen(real_popen):
    def __init__(self, args, *a, **k):
        if "dbt" in str(args):
            started.append(args)
        super().__init__(args, *a, **k)
subprocess.Popen = Popen
import dbt.cli.main
def invoke(self, *a, **k):
    started.append(("dbtRunner", a))
    raise RuntimeError("dbt started")
dbt.cli.main.dbtRunner.invoke = invoke

from retail_platform.defs.transforms import project
copy = Path({str(tmp_path)!r}) / "sql"
shutil.copytree(project.DBT_PROJECT_DIR, copy, ignore=shutil.ignore_patterns("target", "logs"))
project.dbt_project = project.DbtProject(
    project_dir=copy, profiles_dir=copy, target_path=Path("target") / "local"
)
try:
    import retail_platform.definitions
except project.ManifestMissing as error:
    print("MISSING:", error)
print("STARTED:", started)
print("TARGET:", (copy / "target").exists())
"""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "RETAIL_TARGET": "local",
        "RETAIL_START_DATE": "2025-01-01",
        "RETAIL_DATA_DIR": str(tmp_path / "data"),
    }
    completed = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, env=env, capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip
    out = completed.stdout
    assert completed.returncode == 0, out + completed.stderr
    assert "MISSING:" in out and "make setup" in out, out
    assert "STARTED: []" in out and "TARGET: False" in out, out


def test_importing_the_code_location_leaves_the_environment_as_it_was():
    """Before this module, the import set DBT_TARGET_PATH, PATH and RETAIL_DUCKDB_PATH."""
    script = (
        "import os, sys; before = dict(os.environ); import retail_platform.definitions; "
        "after = dict(os.environ); "
        "print(sorted(k for k in {*before, *after} if before.get(k) != after.get(k)))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines()[-1] == "[]"
