"""The production instance (deploy/dagster.yaml) on loopback, for the `production` tests: a
``DAGSTER_HOME`` holding it, the environment it reads (a real Postgres database, a bucket of
fake-gcs-server for compute logs), and the Dagster processes of a deployment, each started in
its own process group so that teardown ends it and everything it started."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import yaml

from retail_platform.lib.targets import PROJECT_ROOT
from retail_platform_tests.helpers.postgres import PostgresServer

DEPLOY_INSTANCE = PROJECT_ROOT / "deploy" / "dagster.yaml"
DEPLOY_WORKSPACE = PROJECT_ROOT / "deploy" / "workspace.yaml"
COMPOSE_FILE = PROJECT_ROOT / "deploy" / "compose" / "compose.yaml"
BIN = Path(sys.executable).parent  # dagster, dagster-daemon, dagster-webserver of this venv
# The options of compose.yaml's commands that compose_commands rewrites for loopback.
_PORT_OPTIONS = ("-p", "--port")
_HOST_OPTIONS = ("-h", "--host")
_WORKSPACE_OPTIONS = ("-w", "--workspace")


@dataclass(frozen=True)
class LoopbackCommands:
    """The commands of deploy/compose/compose.yaml as they run on loopback."""

    commands: dict[str, list[str]]  # compose service -> argv, in the file's order
    env: dict[str, str]  # deploy/workspace.yaml's variables: where the code server listens


def image_services(compose: dict) -> dict[str, dict]:
    """The services of a parsed compose file that run the platform's image (the code server's)
    with a command of their own, in the file's order."""
    services = compose["services"]
    image = services["code-server"]["image"]
    return {
        name: service
        for name, service in services.items()
        if service.get("image") == image and service.get("command")
    }


def compose_commands(
    code_port: int,
    web_port: int,
    host: str = "127.0.0.1",
    compose_file: Path = COMPOSE_FILE,
) -> LoopbackCommands:
    """Every command compose.yaml starts from the image (``instance-migrate``, ``code-server``,
    ``daemon``, ``webserver``), rewritten for one machine: the program from this venv
    (``BIN``), ``-h`` the given host, ``-p`` the code server's or the webserver's port, a
    relative ``-w`` path from the repository root (the image's working directory). ``env``
    points deploy/workspace.yaml, which the daemon and the webserver load, at the code server.
    Everything else is the file's, so the topology test starts exactly what compose starts."""
    compose = yaml.safe_load(compose_file.read_text())
    ports = {"code-server": code_port, "webserver": web_port}
    commands: dict[str, list[str]] = {}
    for name, service in image_services(compose).items():
        argv = [str(item) for item in service["command"]]
        program = BIN / argv[0]
        if program.exists():
            argv[0] = str(program)
        for index in range(1, len(argv) - 1):
            option, value = argv[index], argv[index + 1]
            if option in _HOST_OPTIONS:
                argv[index + 1] = host
            elif option in _PORT_OPTIONS:
                if name not in ports:
                    raise ValueError(f"compose service {name} listens on {value}: no port for it")
                argv[index + 1] = str(ports[name])
            elif option in _WORKSPACE_OPTIONS and not Path(value).is_absolute():
                argv[index + 1] = str(PROJECT_ROOT / value)
        commands[name] = argv
    grpc = yaml.safe_load(DEPLOY_WORKSPACE.read_text())["load_from"][0]["grpc_server"]
    env = {grpc["host"]["env"]: host, grpc["port"]["env"]: str(code_port)}
    return LoopbackCommands(commands, env)


def production_home(
    root: Path, postgres: PostgresServer, fake_gcs_url: str, bucket: str
) -> dict[str, str]:
    """A fresh database and ``root/dagster_home`` holding deploy/dagster.yaml as it is; the
    variables it reads."""
    database = f"dagster_{uuid.uuid4().hex[:10]}"
    postgres.create_database(database)
    home = root / "dagster_home"
    home.mkdir(parents=True)
    shutil.copyfile(DEPLOY_INSTANCE, home / "dagster.yaml")
    return {
        **postgres.env(database),
        "DAGSTER_HOME": str(home),
        "DAGSTER_COMPUTE_LOGS_BUCKET": bucket,
        "DAGSTER_COMPUTE_LOGS_PREFIX": "dagster/compute-logs",
        "STORAGE_EMULATOR_HOST": fake_gcs_url,  # google-cloud-storage's switch to the emulator
        "GOOGLE_CLOUD_PROJECT": "test-project",
    }


def clean_environment() -> dict[str, str]:
    """This process's environment without the platform's and Dagster's own variables."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RETAIL_", "DAGSTER_", "DBT_", "STORAGE_EMULATOR", "BIGQUERY_"))
    }


class Process:
    """A long-running command in its own process group, its output in a log file."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], logs: Path) -> None:
        self.name = name
        self.log_path = logs / f"{name}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            command,
            env=env,
            cwd=PROJECT_ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() ends its children too
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def tail(self, chars: int = 3000) -> str:
        self._log.flush()
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return f"--- {self.name} (exit {self.process.poll()}) ---\n{text[-chars:]}"

    def stop(self) -> None:
        if self.alive():
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        # Whatever it left behind in its group (run workers, the code server's child).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        self._log.close()


def wait_until(what: str, condition, timeout: float, processes=(), interval: float = 1.0):
    """``condition()``'s first truthy value within ``timeout`` s; else an AssertionError that
    says what was awaited, with the tail of each process's log."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        dead = [p for p in processes if not p.alive()]
        if dead or time.monotonic() > deadline:
            logs = "\n".join(p.tail() for p in processes)
            reason = f"{', '.join(p.name for p in dead)} exited" if dead else f"{timeout:g} s"
            raise AssertionError(f"gave up waiting for {what} ({reason})\n{logs}")
        time.sleep(interval)


class GraphQL:
    """The webserver's GraphQL endpoint, as the UI calls it (HTTP POST of a query)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __call__(self, query: str, variables: dict | None = None, timeout: float = 60) -> dict:
        request = urllib.request.Request(
            self.url,
            data=json.dumps({"query": query, "variables": variables or {}}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = json.loads(response.read())
        if body.get("errors"):
            raise AssertionError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    def reachable(self) -> bool:
        try:
            return bool(self("{ version }").get("version"))
        except OSError:
            return False
