"""Private Dagster names used by the code location (Dagster 1.13.27, pinned in uv.lock).

* ``get_current_datetime``: Dagster's clock, ``datetime.now(UTC)`` unless a test freezes it
  (``dagster._core.test_utils.freeze_time``), so the landing sensor and the raw/orders
  deadline check can be tested at chosen times. Replaces ``datetime.now(UTC)``; goes when
  Dagster exposes a public clock, or when those helpers take ``now`` as an argument.
* ``WorkspaceProcessContext``, ``WorkspaceFileTarget``, ``JobSubsetSelector``: load the
  workspace and pick a job as the UI's launchpad does, so ``make demo``'s run gets a
  code-location origin (``launch.py``). Replace starting a webserver and launching through
  its GraphQL API; go when Dagster has a public launch API that does not queue the run.
* ``ConfigurableClassData``: the config record of an instance plug-in, needed by any custom
  storage class (``lib/postgres_storage.py``; Dagster's docs for custom storage import it
  the same way). Goes when Dagster exports it publicly.
* ``location_origins_from_yaml_paths``: reads a workspace.yaml (``env:`` values resolved) as
  the daemon and webserver read it; ``test_deploy_recipes.py`` checks with it that
  deploy/workspace.yaml points at the loopback code server. Replaces starting a webserver on
  the file; goes when Dagster has a public workspace loader.
"""

from dagster._core.definitions.selector import JobSubsetSelector
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load import location_origins_from_yaml_paths
from dagster._core.workspace.load_target import WorkspaceFileTarget
from dagster._serdes import ConfigurableClassData
from dagster._time import get_current_datetime

__all__ = [
    "ConfigurableClassData",
    "JobSubsetSelector",
    "WorkspaceFileTarget",
    "WorkspaceProcessContext",
    "get_current_datetime",
    "location_origins_from_yaml_paths",
]
