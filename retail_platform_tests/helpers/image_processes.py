"""Run *inside* the deployment's image by test_container_image.py (standard library only):
the image's default command (the code server), ``dagster-webserver`` and ``dagster-daemon``
from the image, each its own process on loopback, as production starts them
(docs/deploy.md), with the image's deploy/workspace.yaml when it has one (its host and port
from the environment, as compose sets them), else the same ``grpc_server`` workspace.

The instance is a temporary SQLite one: the production instance (deploy/dagster.yaml) needs
PostgreSQL and a GCS bucket, and is tested with these processes in
test_production_topology.py. Prints one JSON object: the code location's load status, its
jobs as the webserver lists them, and the daemons' health.

    python image_processes.py '<the image Cmd as JSON>'
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

WEB_PORT, CODE_PORT = 3000, 4000
LOCATION = "retail_platform"
DEADLINE_SECONDS = 240

LOCATIONS = """{ workspaceOrError { ... on Workspace { locationEntries {
  name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }"""
RELOAD = """mutation($location: String!) {
  reloadRepositoryLocation(repositoryLocationName: $location) { __typename } }"""
JOBS = """{ repositoriesOrError { ... on RepositoryConnection { nodes { jobs { name } } } } }"""
DAEMONS = """{ instance { daemonHealth { allDaemonStatuses { daemonType required healthy } } } }"""


def graphql(query: str, variables: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{WEB_PORT}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    # A reload answers once the code server has loaded the location: tens of seconds.
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.load(response)["data"]


def location_loaded() -> bool:
    try:
        [entry] = graphql(LOCATIONS)["workspaceOrError"]["locationEntries"]
    except OSError:  # the webserver is not listening yet
        return False
    loaded = (entry["locationOrLoadError"] or {}).get("__typename") == "RepositoryLocation"
    if entry["loadStatus"] == "LOADED" and not loaded:
        # The webserver asked before the code server was up: reload, as the UI's button does.
        graphql(RELOAD, {"location": LOCATION})
    return entry["loadStatus"] == "LOADED" and loaded


def daemons_healthy() -> dict[str, bool]:
    statuses = graphql(DAEMONS)["instance"]["daemonHealth"]["allDaemonStatuses"]
    return {status["daemonType"]: status["healthy"] for status in statuses if status["required"]}


def wait_for(what: str, condition, processes: dict, logs: Path) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        for name, process in processes.items():
            if process.poll() is not None:
                raise SystemExit(
                    f"{name} exited ({process.returncode}) waiting for {what}:\n" + tails(logs)
                )
        if time.monotonic() > deadline:
            raise SystemExit(f"no {what} after {DEADLINE_SECONDS} s:\n" + tails(logs))
        time.sleep(1)


def tails(logs: Path) -> str:
    return "\n".join(
        f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        for log in sorted(logs.glob("*.log"))
    )


def main(code_server_command: list[str]) -> None:
    home = Path(tempfile.mkdtemp(prefix="dagster-home-"))
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    # The production workspace when the image has it (deploy/workspace.yaml: host and port
    # from the environment), else the same thing written here.
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "RETAIL_CODE_SERVER_HOST": "127.0.0.1",
        "RETAIL_CODE_SERVER_PORT": str(CODE_PORT),
    }
    workspace = Path("/opt/retail_platform/deploy/workspace.yaml")
    if not workspace.exists():
        workspace = home / "workspace.yaml"
        workspace.write_text(
            json.dumps(  # JSON is YAML
                {
                    "load_from": [
                        {
                            "grpc_server": {
                                "host": "127.0.0.1",
                                "port": CODE_PORT,
                                "location_name": LOCATION,
                            }
                        }
                    ]
                }
            )
        )
    commands = {
        "code-server": code_server_command,
        "webserver": [
            "dagster-webserver",
            "-h",
            "127.0.0.1",
            "-p",
            str(WEB_PORT),
            "-w",
            str(workspace),
        ],
        "daemon": ["dagster-daemon", "run", "-w", str(workspace)],
    }
    # The instance's storage first, once, as production's compose does (instance-migrate,
    # docs/deploy.md): the webserver and the daemon started together on a new SQLite home
    # each create the schedule storage, and can stamp its alembic version twice ("more than
    # one head present", seen in CI on 2026-12-07).
    migrate = subprocess.run(
        ["dagster", "instance", "migrate"], env=env, cwd=home, capture_output=True, text=True
    )
    if migrate.returncode != 0:
        raise SystemExit(f"dagster instance migrate failed:\n{migrate.stdout}{migrate.stderr}")
    processes: dict[str, subprocess.Popen] = {}
    started = time.monotonic()
    try:
        for name, command in commands.items():
            with open(home / f"{name}.log", "wb") as log:
                processes[name] = subprocess.Popen(
                    command,
                    env=env,
                    cwd=home,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
        wait_for("loaded code location", location_loaded, processes, home)
        loaded_after = time.monotonic() - started
        health: dict[str, bool] = {}

        def all_healthy() -> bool:
            health.update(daemons_healthy())
            return bool(health) and all(health.values())

        wait_for("healthy daemons", all_healthy, processes, home)
        jobs = sorted(
            job["name"]
            for repository in graphql(JOBS)["repositoriesOrError"]["nodes"]
            for job in repository["jobs"]
        )
        print(
            json.dumps(
                {
                    "loaded_after_seconds": round(loaded_after, 1),
                    "jobs": jobs,
                    "daemons": health,
                    "uid": os.getuid(),
                    "workspace": str(workspace),
                }
            )
        )
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
