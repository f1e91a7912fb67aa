"""The local Dagster instance that `make dev` and `make demo` share."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from retail_platform.lib.targets import data_dir

INSTANCE_TEMPLATE = Path(__file__).with_name("dagster.yaml")


def dagster_home() -> Path:
    """``$DAGSTER_HOME``, or ``data/dagster_home``; created with our dagster.yaml."""
    home = Path(os.environ.get("DAGSTER_HOME") or data_dir() / "dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        shutil.copyfile(INSTANCE_TEMPLATE, config)
    os.environ["DAGSTER_HOME"] = str(home)
    return home
