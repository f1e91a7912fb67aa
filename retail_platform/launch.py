"""Launch a job of the code location in ``workspace.yaml`` as the UI does, and wait for it.

``python -m retail_platform.launch JOB RUN_ID TAGS_JSON`` is how ``make demo`` runs
``full_backfill``: in a child process whose output (the code server's and the run's: all of
Dagster's debug stream) is the demo's log file, while the demo prints a line per step.

Why not ``execute_in_process``: a run made that way has no code-location origin. The
webserver lists a job's runs (Jobs -> full_backfill -> Runs) by the tag
``.dagster/repository`` (``<repository>@<code location>``), which Dagster adds only to a run
created with a remote job origin, and the Overview timeline leaves out runs without one.
So the run is created from the workspace's remote job with its origin, as the UI's
launchpad does (dagster_graphql's ``create_valid_pipeline_run``), and handed to the
instance's run launcher, as the daemon does with a queued run: the instance's
QueuedRunCoordinator would wait for a daemon, which ``make demo`` does not start. The run
worker is then a process of the code server, exactly as for a run launched from the UI.

Private Dagster APIs (``WorkspaceProcessContext``, ``WorkspaceFileTarget``,
``JobSubsetSelector``, and ``instance.create_run`` with a remote origin): Dagster 1.13 has no
public way to create a run with a code-location origin outside a running webserver (its own
``dagster job launch`` uses the same calls, dagster/_cli/job.py, and then queues the run for
a daemon). The imported names come from ``patches/dagster_private.py``, which says what they
replace and when they can go.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path

import dagster as dg

from retail_platform.lib.targets import PROJECT_ROOT

WORKSPACE_FILE = PROJECT_ROOT / "workspace.yaml"
POLL_SECONDS = 1.0
#: Starts the one line that says how the launch ended (the code server may log after it).
OUTCOME = "launch outcome: "


def launch_and_wait(
    job_name: str,
    run_id: str,
    tags: Mapping[str, str],
    workspace_file: Path = WORKSPACE_FILE,
) -> dg.DagsterRunStatus:
    """Create run ``run_id`` of ``job_name`` from the only code location of
    ``workspace_file``, launch it on the instance in ``DAGSTER_HOME`` and return its status
    once it has finished."""
    from retail_platform.patches.dagster_private import (
        WorkspaceFileTarget,
        WorkspaceProcessContext,
    )

    with (
        dg.DagsterInstance.get() as instance,
        WorkspaceProcessContext(
            instance, WorkspaceFileTarget(paths=[str(workspace_file)])
        ) as process_context,
    ):
        workspace = process_context.create_request_context()
        run = _create_run(workspace, job_name, run_id, tags)
        instance.launch_run(run.run_id, workspace)
        # The code server keeps the run worker; it marks the run failed if that process
        # dies, so the run always finishes while the workspace is open.
        while not (run := instance.get_run_by_id(run_id)).is_finished:
            time.sleep(POLL_SECONDS)
        return run.status


def _create_run(workspace, job_name: str, run_id: str, tags: Mapping[str, str]) -> dg.DagsterRun:
    from retail_platform.patches.dagster_private import JobSubsetSelector

    (location_name,) = workspace.code_location_names  # workspace.yaml names one
    if workspace.has_code_location_error(location_name):
        error = workspace.get_code_location_error(location_name)
        while error.cause is not None:  # Dagster's wrapper says where; the cause says why
            error = error.cause
        raise RuntimeError(f"code location {location_name} did not load: {error.message}")
    location = workspace.get_code_location(location_name)
    (repository,) = location.get_repositories().values()
    remote_job = location.get_job(
        JobSubsetSelector(
            location_name=location_name,
            repository_name=repository.name,
            job_name=job_name,
            op_selection=None,
        )
    )
    plan = location.get_execution_plan(
        remote_job, {}, step_keys_to_execute=None, known_state=None, instance=workspace.instance
    )
    return workspace.instance.create_run(
        job_name=job_name,
        run_id=run_id,
        run_config={},
        resolved_op_selection=None,
        step_keys_to_execute=plan.execution_plan_snapshot.step_keys_to_execute,
        op_selection=None,
        status=dg.DagsterRunStatus.NOT_STARTED,
        root_run_id=None,
        parent_run_id=None,
        tags={**remote_job.tags, **tags},
        job_snapshot=remote_job.job_snapshot,
        execution_plan_snapshot=plan.execution_plan_snapshot,
        parent_job_snapshot=remote_job.parent_job_snapshot,
        remote_job_origin=remote_job.get_remote_origin(),
        job_code_origin=remote_job.get_python_origin(),
        asset_selection=None,
        asset_check_selection=None,
        asset_graph=workspace.asset_graph,
    )


def main(argv: Sequence[str]) -> int:
    """0 when the run succeeded. The last line printed says how it ended, in one line."""
    job_name, run_id, tags = argv
    try:
        status = launch_and_wait(job_name, run_id, json.loads(tags))
    except Exception as error:
        traceback.print_exc()
        print(f"{OUTCOME}{type(error).__name__}: {' '.join(str(error).split())}", flush=True)
        return 1
    print(f"{OUTCOME}run {run_id} of {job_name}: {status.value}", flush=True)
    return 0 if status == dg.DagsterRunStatus.SUCCESS else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
