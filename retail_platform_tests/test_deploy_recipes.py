"""The deployment recipes start what the topology test starts, from one image, on
deploy/dagster.yaml's settings, with no secret and no key in them: proved on the parsed files.

No container engine, cluster or GitHub runner is reachable here, so deploy/compose/compose.yaml,
deploy/helm/values.yaml (the official Dagster chart, 1.13.27), deploy/helm/cloud-sql-proxy.yaml
and .github/workflows/ci.yml are read with PyYAML and held against deploy/dagster.yaml,
deploy/workspace.yaml, pyproject.toml and deploy/terraform. Expectations are derived from
those files, not typed again. Each check also runs on a copy with one deliberate fault
(``MUTATIONS``), which it must flag: a check that cannot fail proves nothing.

What the Helm checks assume of the chart (``helm_instance``: how its templates turn values
into the instance's dagster.yaml) was read from the chart's templates and values schema in
dagster-io/dagster (docs/deploy.md says which); ``helm template`` cannot run here.
"""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import pytest
import yaml

from retail_platform.lib.targets import PROJECT_ROOT
from retail_platform_tests.helpers.production import compose_commands
from retail_platform_tests.test_terraform_least_privilege import (
    TERRAFORM_DIR,
    TerraformConfig,
    load_config,
    strings,
)

FILES = {
    "compose": "deploy/compose/compose.yaml",
    "env_example": "deploy/compose/.env.example",
    "compose_gitignore": "deploy/compose/.gitignore",
    "helm": "deploy/helm/values.yaml",
    "proxy": "deploy/helm/cloud-sql-proxy.yaml",
    "workflow": ".github/workflows/ci.yml",
    "instance": "deploy/dagster.yaml",
    "workspace": "deploy/workspace.yaml",
    "pyproject": "pyproject.toml",
    "containerfile": "deploy/image/Containerfile",  # the image's (another part of issue 21)
}
# Where the image keeps deploy/dagster.yaml: its DAGSTER_HOME (deploy/image/Containerfile).
IMAGE_DAGSTER_HOME = "/opt/dagster/home"
WORKSPACE_PATH = FILES["workspace"]  # relative: the image's working directory is the repo
# The compose services that run the image, and the ones that run for good.
DAGSTER_SERVICES = ("instance-migrate", "code-server", "daemon", "webserver")
LONG_RUNNING = ("code-server", "daemon", "webserver")
DATABASE_SERVICES = {"postgres": "postgres", "cloud-sql-proxy": "cloudsql"}  # -> profile
SECRET_VARIABLES = ("DAGSTER_PG_PASSWORD", "RETAIL_ALERT_WEBHOOK_URL")
KEY_VARIABLES = ("GOOGLE_APPLICATION_CREDENTIALS", "GCP_CREDENTIALS")
# A variable whose value would be a secret: never a literal in these files.
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|WEBHOOK|CREDENTIAL|PRIVATE|API_KEY", re.I)
# Literals that are secrets whatever their key: a URL with a password, a PEM block (the
# marker is assembled so that this file holds none), Slack-style tokens.
SECRET_LITERAL = re.compile(
    r"://[^/\s:@]+:[^/\s@]+@|" + "-" * 5 + r"BEGIN [A-Z ]+-{5}|\bxox[abpr]-[0-9A-Za-z-]+"
)
WORKLOAD_IDENTITY = "iam.gke.io/gcp-service-account"
PIPELINE_SA_PLACEHOLDER = "${RETAIL_PIPELINE_SA_EMAIL}"
HELM_IMAGE = {"repository": "${RETAIL_IMAGE_REPOSITORY}", "tag": "${RETAIL_IMAGE_TAG}"}
ENV_CONFIGMAP = "retail-platform-env"  # terraform output environment, as a ConfigMap
WEBHOOK_SECRET = "retail-alert-webhook"
# deploy/dagster.yaml settings the Helm instance differs in by design (docs/deploy.md "On
# Kubernetes instead"): the chart's Postgres storages (stock event log) and K8sRunLauncher.
HELM_BY_DESIGN = ("run_storage", "schedule_storage", "event_log_storage", "run_launcher")
PLACEHOLDER = re.compile(r"\$\{(\w+)[^}]*\}")

# ---------------------------------------------------------------------------------------
# Reading the recipes


@dataclass(frozen=True)
class Recipes:
    """The files' texts; each parsed on first use. A mutation replaces a text or, through
    ``with_parsed``, a parsed document."""

    texts: dict[str, str | None]
    overrides: dict[str, Any] = field(default_factory=dict)

    def _parsed(self, name: str) -> Any:
        if name in self.overrides:
            return self.overrides[name]
        return yaml.safe_load(self.texts[name] or "")

    @cached_property
    def compose(self) -> dict:
        return self._parsed("compose")

    @cached_property
    def helm(self) -> dict:
        return self._parsed("helm")

    @cached_property
    def proxy(self) -> list[dict]:
        if "proxy" in self.overrides:
            return self.overrides["proxy"]
        return [doc for doc in yaml.safe_load_all(self.texts["proxy"] or "") if doc]

    @cached_property
    def workflow(self) -> dict:
        return self._parsed("workflow")

    @cached_property
    def instance(self) -> dict:
        return self._parsed("instance")

    @cached_property
    def workspace(self) -> dict:
        return self._parsed("workspace")

    @cached_property
    def dagster_project(self) -> dict:
        return tomllib.loads(self.texts["pyproject"] or "")["tool"]["dg"]["project"]

    @property
    def services(self) -> dict[str, dict]:
        return self.compose.get("services", {})

    def with_text(self, name: str, text: str | None) -> Recipes:
        return Recipes({**self.texts, name: text}, self.overrides)

    def with_parsed(self, name: str, edit: Callable[[Any], None]) -> Recipes:
        document = copy.deepcopy(getattr(self, name))
        edit(document)
        return Recipes(self.texts, {**self.overrides, name: document})


def load_recipes(root: Path = PROJECT_ROOT) -> Recipes:
    texts = {}
    for name, relative in FILES.items():
        path = root / relative
        texts[name] = path.read_text() if path.is_file() else None
    return Recipes(texts)


@cache
def terraform() -> TerraformConfig:
    return load_config(TERRAFORM_DIR)


def env_references(value: Any) -> set[str]:
    """The variables an instance config reads (``{env: NAME}``)."""
    if isinstance(value, dict):
        if set(value) == {"env"}:
            return {value["env"]}
        return set().union(*(env_references(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(env_references(item) for item in value))
    return set()


def environment(service: dict) -> dict[str, str]:
    """A compose service's environment as a mapping (compose also takes KEY=value lists)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(key): str(value) for key, value in env.items()}


def volume_mounts(service: dict) -> list[tuple[str, str]]:
    """(source, target) of each volume of a compose service, short or long syntax."""
    mounts = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            mounts.append((str(volume.get("source", "")), str(volume.get("target", ""))))
        else:
            source, _, rest = str(volume).partition(":")
            mounts.append((source, rest.split(":")[0]) if rest else ("", source))
    return mounts


def secret_names(service: dict) -> set[str]:
    return {s if isinstance(s, str) else s.get("source", "") for s in service.get("secrets") or []}


def workspace_variables(recipes: Recipes) -> tuple[str, str]:
    """deploy/workspace.yaml's host and port variables."""
    grpc = recipes.workspace["load_from"][0]["grpc_server"]
    return grpc["host"]["env"], grpc["port"]["env"]


def published_port(service: dict) -> str:
    """The container port of a compose service's (one) published port."""
    ports = service.get("ports") or []
    return str(ports[0]).rsplit(":", 1)[-1] if ports else ""


def user_deployments(recipes: Recipes) -> list[dict]:
    deployments = recipes.helm.get("dagster-user-deployments", {}).get("deployments", [])
    if isinstance(deployments, dict):  # the chart also takes a map keyed by name
        return [{"name": name, **body} for name, body in deployments.items()]
    return list(deployments)


def helm_components(recipes: Recipes) -> dict[str, dict]:
    """The chart's containers that run the image: webserver, daemon, each user deployment."""
    components = {
        "dagsterWebserver": recipes.helm.get("dagsterWebserver", {}),
        "dagsterDaemon": recipes.helm.get("dagsterDaemon", {}),
    }
    for deployment in user_deployments(recipes):
        components[f"deployment {deployment.get('name')}"] = deployment
    return components


def code_server_command(recipes: Recipes) -> list[str]:
    """The compose code server's command; what the Helm user deployment must run too."""
    return [str(item) for item in recipes.services.get("code-server", {}).get("command", [])]


# ---------------------------------------------------------------------------------------
# How the chart renders its instance: read from helm/dagster/templates/configmap-instance.yaml
# and helpers/instance/*.tpl of the chart (docs/deploy.md names the version). Only the keys
# those templates render; a value the chart would drop is reported, not rendered.

RUN_MONITORING_KEYS = {
    "enabled": "enabled",
    "startTimeoutSeconds": "start_timeout_seconds",
    "cancelTimeoutSeconds": "cancel_timeout_seconds",
    "maxResumeRunAttempts": "max_resume_run_attempts",
    "pollIntervalSeconds": "poll_interval_seconds",
    "freeSlotsAfterRunEndSeconds": "free_slots_after_run_end_seconds",
}
RUN_RETRIES_KEYS = {
    "enabled": "enabled",
    "maxRetries": "max_retries",
    "retryOnAssetOrOpFailure": "retry_on_asset_or_op_failure",
}
POOLS_KEYS = {
    "defaultLimit": "default_limit",
    "granularity": "granularity",
    "opGranularityRunBuffer": "op_granularity_run_buffer",
}
RUNS_KEYS = {"maxConcurrentRuns": "max_concurrent_runs"}


def _rename(values: dict, keys: dict[str, str], where: str, dropped: list[str]) -> dict:
    dropped += [f"{where}.{key}: the chart does not render it" for key in values if key not in keys]
    return {keys[key]: value for key, value in values.items() if key in keys and value is not None}


def _configurable(values: dict) -> dict:
    return {key: values.get(key) for key in ("module", "class", "config")}


def helm_instance(helm: dict) -> tuple[dict, list[str]]:
    """The instance settings the chart renders from these values (beyond storage and run
    launcher), and the values it would silently drop."""
    dropped: list[str] = []
    rendered: dict[str, Any] = {}
    daemon = helm.get("dagsterDaemon", {})
    daemon_on = daemon.get("enabled", True)
    coordinator = daemon.get("runCoordinator", {})
    if daemon_on and coordinator.get("enabled"):
        config = coordinator.get("config", {})
        if coordinator.get("type") == "CustomRunCoordinator":
            rendered["run_coordinator"] = _configurable(config.get("customRunCoordinator", {}))
        else:  # the typed keys cannot say max_user_code_failure_retries
            rendered["run_coordinator"] = {"class": coordinator.get("type"), "config": config}
    monitoring = daemon.get("runMonitoring", {})
    if daemon_on and monitoring.get("enabled"):
        where = "dagsterDaemon.runMonitoring"
        rendered["run_monitoring"] = _rename(monitoring, RUN_MONITORING_KEYS, where, dropped)
    retries = daemon.get("runRetries", {})
    if daemon_on and retries.get("enabled"):
        where = "dagsterDaemon.runRetries"
        rendered["run_retries"] = _rename(retries, RUN_RETRIES_KEYS, where, dropped)
    concurrency = helm.get("concurrency", {})
    if concurrency.get("enabled"):
        section = {}
        pools = _rename(concurrency.get("pools", {}), POOLS_KEYS, "concurrency.pools", dropped)
        if pools:
            section["pools"] = pools
        runs_values = dict(concurrency.get("runs", {}))
        limits = runs_values.pop("tagConcurrencyLimits", None) or []
        runs = _rename(runs_values, RUNS_KEYS, "concurrency.runs", dropped)
        if limits:
            runs["tag_concurrency_limits"] = [
                {key: limit[key] for key in ("key", "value", "limit") if key in limit}
                for limit in limits
            ]
        if runs:
            section["runs"] = runs
        rendered["concurrency"] = section
    logs = helm.get("computeLogManager", {})
    if logs.get("type") == "CustomComputeLogManager":
        rendered["compute_logs"] = _configurable(logs["config"].get("customComputeLogManager", {}))
    elif logs:
        rendered["compute_logs"] = {"class": logs.get("type"), "config": logs.get("config")}
    rendered["telemetry"] = {"enabled": helm.get("telemetry", {}).get("enabled", True)}
    for key, value in (helm.get("additionalInstanceConfig") or {}).items():
        if key in rendered or key in HELM_BY_DESIGN:
            dropped.append(f"additionalInstanceConfig.{key}: the chart renders {key} itself")
        rendered[key] = value
    return rendered, dropped


# ---------------------------------------------------------------------------------------
# The checks: each returns what is wrong, [] when nothing is


def check_one_image(recipes: Recipes) -> list[str]:
    """Compose: every Dagster service runs ${RETAIL_IMAGE}. Helm: the webserver, the daemon
    and the one user deployment run ${RETAIL_IMAGE_REPOSITORY}:${RETAIL_IMAGE_TAG}."""
    problems = []
    for name in DAGSTER_SERVICES:
        image = str(recipes.services.get(name, {}).get("image", ""))
        if not re.fullmatch(r"\$\{RETAIL_IMAGE(?:[:?-][^}]*)?\}", image):
            problems.append(f"compose {name}: image {image!r} is not ${{RETAIL_IMAGE}}")
    problems += [
        f"compose {name}: runs {service['command'][0]} outside the Dagster services"
        for name, service in recipes.services.items()
        if name not in DAGSTER_SERVICES
        and str((service.get("command") or [""])[0]).startswith("dagster")
    ]
    if len(user_deployments(recipes)) != 1:
        problems.append("helm: not exactly one user deployment (the retail_platform location)")
    for name, component in helm_components(recipes).items():
        image = {key: component.get("image", {}).get(key) for key in HELM_IMAGE}
        if image != HELM_IMAGE:
            problems.append(f"helm {name}: image {image} is not {HELM_IMAGE}")
    return problems


def check_commands(recipes: Recipes) -> list[str]:
    """The commands of docs/deploy.md and the topology test: the code server serving
    pyproject's module under its location name, the daemon and the webserver on
    deploy/workspace.yaml, which points at the code server; Helm's user deployment runs the
    compose code server's command, and its workspace names the location the same."""
    problems = []
    location = recipes.dagster_project["code_location_name"]
    module = recipes.dagster_project["code_location_target_module"]
    host_variable, port_variable = workspace_variables(recipes)
    grpc = recipes.workspace["load_from"][0]["grpc_server"]
    if grpc.get("location_name") != location:
        problems.append(f"deploy/workspace.yaml: location_name is not {location}")
    port = environment(recipes.services.get("daemon", {})).get(port_variable, "?")
    web_port = published_port(recipes.services.get("webserver", {}))
    expected = {
        "instance-migrate": ["dagster", "instance", "migrate"],
        "code-server": ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", port]
        + ["-m", module, "--location-name", location],
        "daemon": ["dagster-daemon", "run", "-w", WORKSPACE_PATH],
        "webserver": ["dagster-webserver", "-h", "0.0.0.0", "-p", web_port]
        + ["-w", WORKSPACE_PATH],
    }
    for name, command in expected.items():
        actual = [str(item) for item in recipes.services.get(name, {}).get("command", [])]
        if actual != command:
            problems.append(f"compose {name}: command {actual}, expected {command}")
    for name in ("daemon", "webserver"):
        env = environment(recipes.services.get(name, {}))
        if env.get(host_variable) != "code-server" or env.get(port_variable) != port:
            problems.append(f"compose {name}: the workspace does not point at code-server:{port}")
    for deployment in user_deployments(recipes):
        if deployment.get("dagsterApiGrpcArgs"):
            problems.append("helm: dagsterApiGrpcArgs (dagster api grpc), not codeServerArgs")
        chart_command = ["dagster", "code-server", "start", "-h", "0.0.0.0"]
        chart_command += ["-p", str(deployment.get("port"))]
        chart_command += [str(arg) for arg in deployment.get("codeServerArgs") or []]
        if chart_command != code_server_command(recipes):
            problems.append(
                f"helm {deployment.get('name')}: runs {chart_command}, compose runs "
                f"{code_server_command(recipes)}"
            )
    workspace = recipes.helm.get("dagsterWebserver", {}).get("workspace", {})
    servers = [
        {"host": d.get("name"), "port": d.get("port"), "name": location}
        for d in user_deployments(recipes)
    ]
    if not workspace.get("enabled") or workspace.get("servers") != servers:
        problems.append(f"helm: dagsterWebserver.workspace is not enabled with servers {servers}")
    return problems


def check_dagster_home(recipes: Recipes) -> list[str]:
    """DAGSTER_HOME is where the image keeps deploy/dagster.yaml, in every compose service
    and in the chart (which mounts its own dagster.yaml there); compose shares one named
    volume as $DAGSTER_HOME/run_leases (the event log's lease folder) among the code server,
    the daemon and the webserver, and mounts nothing over the baked instance."""
    problems = []
    lease_folder = recipes.instance["event_log_storage"].get("config", {}).get("lease_folder")
    if lease_folder not in (None, f"{IMAGE_DAGSTER_HOME}/run_leases"):
        problems.append(f"deploy/dagster.yaml: lease_folder {lease_folder} is not the volume's")
    leases = f"{IMAGE_DAGSTER_HOME}/run_leases"
    named_volumes = set(recipes.compose.get("volumes") or {})
    lease_sources = set()
    for name in DAGSTER_SERVICES:
        service = recipes.services.get(name, {})
        home = environment(service).get("DAGSTER_HOME")
        if home != IMAGE_DAGSTER_HOME:
            problems.append(f"compose {name}: DAGSTER_HOME {home}, not {IMAGE_DAGSTER_HOME}")
        for source, target in volume_mounts(service):
            if target.rstrip("/") in (IMAGE_DAGSTER_HOME, f"{IMAGE_DAGSTER_HOME}/dagster.yaml"):
                problems.append(f"compose {name}: {source} mounted over the image's instance")
            if target == leases and name in LONG_RUNNING:
                lease_sources.add(source)
        if name in LONG_RUNNING and leases not in (t for _, t in volume_mounts(service)):
            problems.append(f"compose {name}: no volume at {leases}")
    if len(lease_sources) > 1 or not lease_sources <= named_volumes:
        problems.append(f"compose: the lease folders {sorted(lease_sources)} are not one volume")
    home = recipes.helm.get("global", {}).get("dagsterHome")
    if home != IMAGE_DAGSTER_HOME:
        problems.append(f"helm: global.dagsterHome {home}, not {IMAGE_DAGSTER_HOME}")
    containerfile = recipes.texts.get("containerfile")
    if containerfile is not None and not (
        re.search(
            rf"DAGSTER_HOME[= ]\s*\"?{re.escape(IMAGE_DAGSTER_HOME)}\"?\s*$", containerfile, re.M
        )
        and FILES["instance"] in containerfile
    ):
        problems.append(
            f"deploy/image/Containerfile: no DAGSTER_HOME={IMAGE_DAGSTER_HOME} holding "
            f"{FILES['instance']}"
        )
    return problems


def check_helm_instance(recipes: Recipes) -> list[str]:
    """The chart's instance has deploy/dagster.yaml's settings (run coordinator, concurrency
    limits and pools, run monitoring, run retries, compute logs, freshness, telemetry; any
    setting added there later too), compared as the chart renders them; only storage and
    run launcher differ, as docs/deploy.md says (stock Postgres event log, K8sRunLauncher)."""
    rendered, problems = helm_instance(recipes.helm)
    shared = [key for key in recipes.instance if key not in HELM_BY_DESIGN]
    for key in shared:
        if rendered.get(key) != recipes.instance[key]:
            problems.append(
                f"helm {key}: {rendered.get(key)} != deploy/dagster.yaml's {recipes.instance[key]}"
            )
    problems += [f"helm {key}: not in deploy/dagster.yaml" for key in rendered if key not in shared]
    launcher = recipes.helm.get("runLauncher", {})
    if launcher.get("type") != "K8sRunLauncher":
        problems.append("helm: runLauncher.type is not K8sRunLauncher (a pod per run)")
    problems += run_launcher_problems(launcher.get("config", {}).get("k8sRunLauncher", {}))
    postgres = recipes.helm.get("postgresql", {})
    scheme = recipes.instance["run_storage"]["config"]["postgres_db"].get("scheme")
    if postgres.get("enabled") is not False or postgres.get("postgresqlScheme") != scheme:
        problems.append(f"helm: postgresql is not external with scheme {scheme}")
    return problems


def run_launcher_problems(values: dict) -> list[str]:
    """The chart's K8sRunLauncher settings against the launcher this venv (and so the image,
    built from the same uv.lock) holds: the chart renders each camelCase key as the snake_case
    field of dagster-k8s's config, which must know it."""
    try:
        from dagster_k8s import K8sRunLauncher
    except ImportError:
        return ["dagster-k8s is not installed: the image cannot load the K8sRunLauncher"]
    fields = K8sRunLauncher.config_type()
    problems = []
    for key in values:
        name = re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()
        if name not in fields:
            problems.append(f"helm runLauncher.config.k8sRunLauncher.{key}: no {name} field")
    return problems


def check_environment(recipes: Recipes) -> list[str]:
    """Every variable deploy/dagster.yaml reads reaches every compose Dagster service (the
    password as a secret), the code server has the BigQuery target's (Terraform's environment
    output); on Helm, what the chart's instance reads is in that output, which every
    component and the run pods load as the retail-platform-env ConfigMap."""
    problems = []
    instance_variables = env_references(recipes.instance)
    target = dict(terraform().locals.get("environment", {}))
    for name in DAGSTER_SERVICES:
        service = recipes.services.get(name, {})
        given = set(environment(service)) | secret_names(service)
        problems += [
            f"compose {name}: lacks {variable} (deploy/dagster.yaml reads it)"
            for variable in sorted(instance_variables - given)
        ]
    code_server = environment(recipes.services.get("code-server", {}))
    problems += [
        f"compose code-server: lacks {variable} (terraform output environment)"
        for variable in sorted(set(target) - set(code_server))
    ]
    if code_server.get("RETAIL_TARGET") != target.get("RETAIL_TARGET", "bigquery"):
        problems.append("compose code-server: RETAIL_TARGET is not bigquery")
    rendered, _ = helm_instance(recipes.helm)
    problems += [
        f"helm: the instance reads {variable}, which the {ENV_CONFIGMAP} ConfigMap lacks"
        for variable in sorted(env_references(rendered) - set(target))
    ]
    launcher = recipes.helm.get("runLauncher", {}).get("config", {}).get("k8sRunLauncher", {})
    with_configmaps = {**helm_components(recipes), "runLauncher": launcher}
    for name, component in with_configmaps.items():
        names = [item.get("name") for item in component.get("envConfigMaps") or []]
        if ENV_CONFIGMAP not in names:
            problems.append(f"helm {name}: envConfigMaps lacks {ENV_CONFIGMAP}")
    return problems


def _env_maps(recipes: Recipes) -> Iterator[tuple[str, dict]]:
    for name, service in recipes.services.items():
        yield f"compose {name}", environment(service)
    for name, component in helm_components(recipes).items():
        env = component.get("env") or {}
        if isinstance(env, list):
            env = {item.get("name"): item.get("value", item.get("valueFrom")) for item in env}
        yield f"helm {name}", env


def check_secrets(recipes: Recipes) -> list[str]:
    """The Postgres password and the webhook come from secrets: compose secrets read from
    git-ignored files under secrets/ (exported by the services' entrypoint), the chart's
    existing Secrets; no variable holding a secret is set in either file, and no literal in
    them looks like one."""
    problems = []
    declared = recipes.compose.get("secrets") or {}
    if set(declared) != set(SECRET_VARIABLES):
        problems.append(f"compose: secrets {sorted(declared)}, expected {list(SECRET_VARIABLES)}")
    for name, secret in declared.items():
        if not str((secret or {}).get("file", "")).startswith("./secrets/"):
            problems.append(f"compose secret {name}: not a file under ./secrets/")
    if "secrets/" not in (recipes.texts.get("compose_gitignore") or "").split():
        problems.append("deploy/compose/.gitignore does not ignore secrets/")
    needs = {name: {"DAGSTER_PG_PASSWORD"} for name in DAGSTER_SERVICES}
    needs["code-server"] = set(SECRET_VARIABLES)
    for name, wanted in needs.items():
        service = recipes.services.get(name, {})
        problems += [
            f"compose {name}: no secret {secret}"
            for secret in sorted(wanted - secret_names(service))
        ]
        if "/run/secrets/" not in str(service.get("entrypoint", "")):
            problems.append(f"compose {name}: the entrypoint does not export /run/secrets/")
    for where, env in _env_maps(recipes):
        problems += [
            f"{where}: {key} set in the file; it is a secret"
            for key, value in env.items()
            if SECRET_NAME.search(str(key))
            and not (str(key).endswith("_FILE") and str(value).startswith("/run/secrets/"))
        ]
    helm = recipes.helm
    if helm.get("generatePostgresqlPasswordSecret") is not False:
        problems.append("helm: generatePostgresqlPasswordSecret is not false")
    if "postgresqlPassword" in helm.get("postgresql", {}):
        problems.append("helm: postgresql.postgresqlPassword is set; use the existing Secret")
    if not helm.get("global", {}).get("postgresqlSecretName"):
        problems.append("helm: no global.postgresqlSecretName")
    for deployment in user_deployments(recipes):
        names = [item.get("name") for item in deployment.get("envSecrets") or []]
        if WEBHOOK_SECRET not in names:
            problems.append(f"helm {deployment.get('name')}: envSecrets lacks {WEBHOOK_SECRET}")
    documents = {"compose": recipes.compose, "helm": helm, "proxy": recipes.proxy}
    problems += [
        f"{name}{where}: looks like a secret"
        for name, document in documents.items()
        for where, value in strings(document)
        if SECRET_LITERAL.search(value)
    ]
    return problems


def _volumes_with_secrets(value: Any, where: str = "") -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "volumes" and isinstance(item, list):
                yield from (f"{where}.volumes" for volume in item if "secret" in (volume or {}))
            yield from _volumes_with_secrets(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _volumes_with_secrets(item, f"{where}[{index}]")


def check_no_keys(recipes: Recipes) -> list[str]:
    """No service-account key: Application Default Credentials from the VM's account in
    compose (no key variable, no key file or gcloud folder mounted); on GKE every account
    of the chart and the Auth Proxy annotated for Workload Identity with the pipeline
    account, named as deploy/terraform binds them, no key variable or Secret volume."""
    problems = []
    for where, env in _env_maps(recipes):
        problems += [f"{where}: {key} set" for key in env if key in KEY_VARIABLES]
    for name, service in recipes.services.items():
        problems += [
            f"compose {name}: mounts {source or target} (a key or gcloud credentials)"
            for source, target in volume_mounts(service)
            if re.search(r"\.json$|credential|gcloud|key", f"{source} {target}", re.I)
        ]
    problems += [f"helm{where}: a Secret volume" for where in _volumes_with_secrets(recipes.helm)]
    accounts = {
        "serviceAccount": recipes.helm.get("serviceAccount", {}),
        "dagster-user-deployments.serviceAccount": recipes.helm.get(
            "dagster-user-deployments", {}
        ).get("serviceAccount", {}),
    }
    accounts.update(
        {
            f"proxy {doc['metadata']['name']}": {"create": True, **doc["metadata"]}
            for doc in recipes.proxy
            if doc.get("kind") == "ServiceAccount"
        }
    )
    bound = set(terraform().variables["k8s_service_accounts"]["default"])
    for where, account in accounts.items():
        if (account.get("annotations") or {}).get(WORKLOAD_IDENTITY) != PIPELINE_SA_PLACEHOLDER:
            problems.append(f"{where}: no {WORKLOAD_IDENTITY}: {PIPELINE_SA_PLACEHOLDER}")
        if not account.get("create") or account.get("name") not in bound:
            problems.append(
                f"{where}: {account.get('name')!r} is not one of deploy/terraform's "
                f"k8s_service_accounts {sorted(bound)}"
            )
    pods = [doc for doc in recipes.proxy if doc.get("kind") == "Deployment"]
    problems += [
        f"proxy {doc['metadata']['name']}: runs as {account!r}, not an annotated account"
        for doc in pods
        if (account := doc["spec"]["template"]["spec"].get("serviceAccountName"))
        not in {a.get("name") for w, a in accounts.items() if w.startswith("proxy")}
    ]
    if not pods:
        problems.append("proxy: no Deployment")
    return problems


def check_compose_operations(recipes: Recipes) -> list[str]:
    """Restart policies, health checks and start order: the database (one profile each,
    postgres by default in .env.example), then the one-shot migration, then the code server
    (healthy), then the daemon and the webserver; the UI published on loopback by default."""
    problems = []
    services = recipes.services
    for name in (*LONG_RUNNING, *DATABASE_SERVICES):
        if services.get(name, {}).get("restart") not in ("unless-stopped", "always"):
            problems.append(f"compose {name}: restarts {services.get(name, {}).get('restart')}")
    if str(services.get("instance-migrate", {}).get("restart")) != "no":
        problems.append("compose instance-migrate: must run once (restart: 'no')")
    for name in ("postgres", *LONG_RUNNING):
        test = (services.get(name, {}).get("healthcheck") or {}).get("test")
        if not test or test == ["NONE"]:
            problems.append(f"compose {name}: no healthcheck")
    for name, profile in DATABASE_SERVICES.items():
        if services.get(name, {}).get("profiles") != [profile]:
            problems.append(f"compose {name}: not in profile {profile} alone")
    if not re.search(r"^COMPOSE_PROFILES=postgres$", recipes.texts["env_example"] or "", re.M):
        problems.append("deploy/compose/.env.example: COMPOSE_PROFILES=postgres is not the default")
    order = {
        "instance-migrate": {
            "postgres": "service_healthy",
            "cloud-sql-proxy": "service_started",
        },
        "code-server": {"instance-migrate": "service_completed_successfully"},
        "daemon": {
            "instance-migrate": "service_completed_successfully",
            "code-server": "service_healthy",
        },
        "webserver": {
            "instance-migrate": "service_completed_successfully",
            "code-server": "service_healthy",
        },
    }
    for name, wanted in order.items():
        depends = services.get(name, {}).get("depends_on") or {}
        for dependency, condition in wanted.items():
            if (depends.get(dependency) or {}).get("condition") != condition:
                problems.append(f"compose {name}: does not wait for {dependency} ({condition})")
        problems += [
            f"compose {name}: depends on {dependency} without required: false (a profile)"
            for dependency in DATABASE_SERVICES
            if dependency in depends and depends[dependency].get("required") is not False
        ]
    ports = services.get("webserver", {}).get("ports") or []
    if not ports or not str(ports[0]).startswith("${DAGSTER_WEBSERVER_BIND:-127.0.0.1}:"):
        problems.append("compose webserver: the UI (no login) is not published on loopback")
    return problems


def _steps(job: dict) -> list[dict]:
    return job.get("steps") or []


def check_workflow(recipes: Recipes) -> list[str]:
    """.github/workflows/ci.yml: on pushes and pull requests, one job runs `bash .ci/run` as
    root on Debian (it installs packages with apt-get), one runs `make image`, one sets up
    Terraform and runs `terraform fmt -check -recursive deploy/terraform`, `init
    -backend=false` and `validate`, in that order."""
    problems = []
    workflow = recipes.workflow or {}
    triggers = workflow.get("on", workflow.get(True)) or {}  # YAML 1.1 reads `on` as true
    problems += [
        f"workflow: not run on {event}"
        for event in ("push", "pull_request")
        if event not in triggers
    ]
    jobs = workflow.get("jobs") or {}
    runs = {name: [str(step.get("run", "")) for step in _steps(job)] for name, job in jobs.items()}
    ci_run = [name for name, lines in runs.items() if any("bash .ci/run" in line for line in lines)]
    if not ci_run:
        problems.append("workflow: no job runs bash .ci/run")
    for name in ci_run:
        job = jobs[name]
        image = job.get("container")
        image = image.get("image") if isinstance(image, dict) else image
        if not re.search(r"debian|bookworm|trixie", str(image)):
            problems.append(f"workflow {name}: .ci/run needs root on Debian; container {image}")
        if not re.search(r"ubuntu|debian", str(job.get("runs-on"))):
            problems.append(f"workflow {name}: runs-on {job.get('runs-on')}")
    if not any("make image" in line for lines in runs.values() for line in lines):
        problems.append("workflow: no job runs make image")
    terraform_jobs = [
        name
        for name, job in jobs.items()
        if any(
            str(step.get("uses", "")).startswith("hashicorp/setup-terraform@")
            for step in _steps(job)
        )
    ]
    wanted = [
        r"terraform fmt -check -recursive\b.*\bdeploy/terraform",
        r"terraform\b.*\binit\b.*-backend=false",
        r"terraform\b.*\bvalidate\b",
    ]
    found = False
    for name in terraform_jobs:
        positions = [
            next((i for i, line in enumerate(runs[name]) if re.search(p, line)), None)
            for p in wanted
        ]
        if None not in positions and positions == sorted(positions):
            found = True
    if not found:
        problems.append(
            "workflow: no job with hashicorp/setup-terraform running fmt -check -recursive "
            "deploy/terraform, init -backend=false and validate, in order"
        )
    return problems


def _envsubst_variables(text: str) -> set[str]:
    """The variables of the envsubst command a file's header gives."""
    match = re.search(r"envsubst '([^']*)'", text or "")
    return set(re.findall(r"\$(\w+)", match.group(1))) if match else set()


def check_placeholders(recipes: Recipes) -> list[str]:
    """Every ${VARIABLE} of the Helm values and the proxy manifest is in the envsubst command
    their header gives (so none reaches the cluster unfilled); every one compose.yaml
    interpolates is named in .env.example."""
    problems = []
    for name, document in (("helm", recipes.helm), ("proxy", recipes.proxy)):
        used = {m for _, value in strings(document) for m in PLACEHOLDER.findall(value)}
        filled = _envsubst_variables(recipes.texts[name] or "")
        problems += [
            f"{FILES[name]}: ${{{variable}}} is not in its envsubst command {sorted(filled)}"
            for variable in sorted(used - filled)
        ]
    compose_variables = {
        m for _, value in strings(recipes.compose) for m in PLACEHOLDER.findall(value)
    }
    env_example = recipes.texts["env_example"] or ""
    problems += [
        f"{FILES['env_example']}: does not mention {variable}, which compose.yaml reads"
        for variable in sorted(compose_variables)
        if not re.search(rf"\b{variable}\b", env_example)
    ]
    return problems


CHECKS: dict[str, Callable[[Recipes], list[str]]] = {
    check.__name__.removeprefix("check_"): check
    for check in (
        check_one_image,
        check_commands,
        check_dagster_home,
        check_helm_instance,
        check_environment,
        check_secrets,
        check_no_keys,
        check_compose_operations,
        check_workflow,
        check_placeholders,
    )
}

# ---------------------------------------------------------------------------------------
# The faults each check must catch


@dataclass(frozen=True)
class Mutation:
    check: str
    description: str
    apply: Callable[[Recipes], Recipes]


def compose_edit(service: str, edit: Callable[[dict], None]) -> Callable[[Recipes], Recipes]:
    return lambda recipes: recipes.with_parsed(
        "compose", lambda doc: edit(doc["services"][service])
    )


def helm_edit(edit: Callable[[dict], None]) -> Callable[[Recipes], Recipes]:
    return lambda recipes: recipes.with_parsed("helm", edit)


def text_edit(name: str, old: str, new: str) -> Callable[[Recipes], Recipes]:
    def apply(recipes: Recipes) -> Recipes:
        text = recipes.texts[name] or ""
        # Loud when the file changed under the mutation, never a silent no-op.
        assert text.count(old) == 1, f"{old!r} not once in {FILES[name]}"
        return recipes.with_text(name, text.replace(old, new))

    return apply


def _set(path: str, value: Any) -> Callable[[dict], None]:
    """Set a dotted path (list items by index) in a parsed document."""

    def edit(document: dict) -> None:
        *parents, last = path.split(".")
        node: Any = document
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
        if value is _DELETE:
            del node[last]
        elif isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return edit


_DELETE = object()
DEPLOYMENT = "dagster-user-deployments.deployments.0"
FAKE_WEBHOOK = "https://chat.example.invalid/hooks/placeholder"
COMPOSE_MODULE = "retail_platform.definitions"
KEY_FILE = "./sa-key.json:/secrets/sa-key.json:ro"


def _drop_env(variable: str) -> Callable[[dict], None]:
    return lambda service: service["environment"].pop(variable)


def _add(key: str, item: Any) -> Callable[[dict], None]:
    return lambda node: node.setdefault(key, []).append(item)


# One fault per row: (check, fault, how the broken copy is made).
# fmt: off
MUTATIONS = [
    Mutation("one_image", "the daemon from the official image", compose_edit(
        "daemon", _set("image", "docker.io/dagster/dagster-k8s:1.13.27"))),
    Mutation("one_image", "the webserver pod from another repository", helm_edit(
        _set("dagsterWebserver.image.repository", "docker.io/dagster/dagster-k8s"))),
    Mutation("one_image", "the user deployment on latest", helm_edit(
        _set(f"{DEPLOYMENT}.image.tag", "latest"))),
    Mutation("commands", "the code server loads another module", compose_edit(
        "code-server", lambda s: s.update(command=[
            "retail_platform.defs" if a == COMPOSE_MODULE else a for a in s["command"]]))),
    Mutation("commands", "the daemon loads the code in-process", compose_edit(
        "daemon", _set("command", ["dagster-daemon", "run", "-w", "workspace.yaml"]))),
    Mutation("commands", "the webserver looks for the code server elsewhere", compose_edit(
        "webserver", _set("environment.RETAIL_CODE_SERVER_PORT", "4001"))),
    Mutation("commands", "the Helm location under another name", helm_edit(
        _set(f"{DEPLOYMENT}.codeServerArgs.3", "retail-platform"))),
    Mutation("commands", "the Helm workspace names the location after the deployment",
             helm_edit(_set("dagsterWebserver.workspace.servers.0.name", "retail-platform"))),
    Mutation("commands", "dagster api grpc on Helm", helm_edit(
        _set(f"{DEPLOYMENT}.dagsterApiGrpcArgs", ["-m", COMPOSE_MODULE]))),
    Mutation("dagster_home", "the webserver on another DAGSTER_HOME", compose_edit(
        "webserver", _set("environment.DAGSTER_HOME", "/opt/dagster/dagster_home"))),
    Mutation("dagster_home", "the daemon without the lease volume", compose_edit(
        "daemon", _set("volumes", []))),
    Mutation("dagster_home", "the webserver's leases in a folder of its own", compose_edit(
        "webserver", _set("volumes", ["./leases:/opt/dagster/home/run_leases"]))),
    Mutation("dagster_home", "a volume over the baked instance", compose_edit(
        "code-server", _add("volumes", "dagster-home:/opt/dagster/home"))),
    Mutation("dagster_home", "the chart's default DAGSTER_HOME", helm_edit(
        _set("global.dagsterHome", "/opt/dagster/dagster_home"))),
    Mutation("dagster_home", "an image with its instance elsewhere",
             lambda r: r.with_text("containerfile", "ENV DAGSTER_HOME=/opt/dagster/dagster_home\n"
                                   "COPY deploy/dagster.yaml /opt/dagster/dagster_home/\n")),
    Mutation("helm_instance", "more runs at once", helm_edit(
        _set("concurrency.runs.maxConcurrentRuns", 5))),
    Mutation("helm_instance", "one partition limit for all days", helm_edit(
        _set("concurrency.runs.tagConcurrencyLimits.0.value", _DELETE))),
    Mutation("helm_instance", "pools by run", helm_edit(
        _set("concurrency.pools.granularity", "run"))),
    Mutation("helm_instance", "slots freed later", helm_edit(
        _set("dagsterDaemon.runMonitoring.freeSlotsAfterRunEndSeconds", 60))),
    Mutation("helm_instance", "a monitoring key the chart drops", helm_edit(
        _set("dagsterDaemon.runMonitoring.maxRuntimeSeconds", 3600))),
    Mutation("helm_instance", "retries on step failures", helm_edit(
        _set("dagsterDaemon.runRetries.retryOnAssetOrOpFailure", True))),
    Mutation("helm_instance", "the coordinator's typed keys (no user code retries)", helm_edit(
        _set("dagsterDaemon.runCoordinator.type", "QueuedRunCoordinator"))),
    Mutation("helm_instance", "logs uploaded less often", helm_edit(
        _set("computeLogManager.config.customComputeLogManager.config.upload_interval", 60))),
    Mutation("helm_instance", "telemetry on", helm_edit(_set("telemetry.enabled", True))),
    Mutation("helm_instance", "no freshness evaluation", helm_edit(
        _set("additionalInstanceConfig", {}))),
    Mutation("helm_instance", "run leases across pods", helm_edit(
        _set("additionalInstanceConfig.event_log_storage",
             {"module": "retail_platform.lib.postgres_storage"}))),
    Mutation("helm_instance", "runs as celery tasks", helm_edit(
        _set("runLauncher.type", "CeleryK8sRunLauncher"))),
    Mutation("helm_instance", "a launcher setting dagster-k8s does not know", helm_edit(
        _set("runLauncher.config.k8sRunLauncher.imagePullPolicyy", "Always"))),
    Mutation("helm_instance", "psycopg 3 on Helm", helm_edit(
        _set("postgresql.postgresqlScheme", _DELETE))),
    Mutation("helm_instance", "a setting added to deploy/dagster.yaml only",
             lambda r: r.with_parsed("instance", _set("retention.sensor.purge_after_days", 30))),
    Mutation("environment", "the daemon without the log bucket", compose_edit(
        "daemon", _drop_env("DAGSTER_COMPUTE_LOGS_BUCKET"))),
    Mutation("environment", "the code server without the landing bucket", compose_edit(
        "code-server", _drop_env("RETAIL_LANDING_BUCKET"))),
    Mutation("environment", "the code server on DuckDB", compose_edit(
        "code-server", _set("environment.RETAIL_TARGET", "local"))),
    Mutation("environment", "the Helm daemon without the ConfigMap", helm_edit(
        _set("dagsterDaemon.envConfigMaps", []))),
    Mutation("environment", "the run pods' launcher without the ConfigMap", helm_edit(
        _set("runLauncher.config.k8sRunLauncher.envConfigMaps", []))),
    Mutation("environment", "the Helm instance reads a variable no one sets", helm_edit(
        _set("computeLogManager.config.customComputeLogManager.config.local_dir",
             {"env": "DAGSTER_COMPUTE_LOGS_DIR"}))),
    Mutation("secrets", "the webhook typed into compose", compose_edit(
        "code-server", _set("environment.RETAIL_ALERT_WEBHOOK_URL", FAKE_WEBHOOK))),
    Mutation("secrets", "the password in the daemon's environment", compose_edit(
        "daemon", _set("environment.DAGSTER_PG_PASSWORD", "not-a-real-password"))),
    Mutation("secrets", "the webserver without the password secret", compose_edit(
        "webserver", _set("secrets", []))),
    Mutation("secrets", "a secret file outside secrets/", lambda r: r.with_parsed(
        "compose", _set("secrets.DAGSTER_PG_PASSWORD.file", "../../db-password.txt"))),
    Mutation("secrets", "secrets/ not ignored",
             lambda r: r.with_text("compose_gitignore", ".env\n")),
    Mutation("secrets", "the image's entrypoint, secrets never exported", compose_edit(
        "code-server", _set("entrypoint", _DELETE))),
    Mutation("secrets", "a password in the chart's values", helm_edit(
        _set("postgresql.postgresqlPassword", "not-a-real-password"))),
    Mutation("secrets", "the chart generates the password secret", helm_edit(
        _set("generatePostgresqlPasswordSecret", True))),
    Mutation("secrets", "the webhook typed into Helm", helm_edit(
        _set(f"{DEPLOYMENT}.env", {"RETAIL_ALERT_WEBHOOK_URL": FAKE_WEBHOOK}))),
    Mutation("secrets", "no webhook secret on Helm",
             helm_edit(_set(f"{DEPLOYMENT}.envSecrets", []))),
    Mutation("secrets", "a database URL with its password", helm_edit(
        _set("dagsterDaemon.env", {"DATABASE_URL": "postgresql://dagster:hunter2@db/dagster"}))),
    Mutation("no_keys", "a key file for the code server", compose_edit(
        "code-server", lambda s: s["volumes"].append(KEY_FILE))),
    Mutation("no_keys", "GOOGLE_APPLICATION_CREDENTIALS in compose", compose_edit(
        "code-server", _set("environment.GOOGLE_APPLICATION_CREDENTIALS", "/secrets/sa.json"))),
    Mutation("no_keys", "someone's gcloud login in the daemon", compose_edit(
        "daemon", _add("volumes", "~/.config/gcloud:/home/retail/.config/gcloud:ro"))),
    Mutation("no_keys", "the user-code account not annotated", helm_edit(
        _set("dagster-user-deployments.serviceAccount.annotations", {}))),
    Mutation("no_keys", "the webserver's account not annotated", helm_edit(
        _set("serviceAccount.annotations", {}))),
    Mutation("no_keys", "a key as a Secret volume", helm_edit(
        _set(f"{DEPLOYMENT}.volumes", [{"name": "key", "secret": {"secretName": "gcp-key"}}]))),
    Mutation("no_keys", "an account Terraform does not bind", helm_edit(
        _set("dagster-user-deployments.serviceAccount.name", "dagster-user-code"))),
    Mutation("no_keys", "the proxy's account not annotated", lambda r: r.with_parsed(
        "proxy", _set("0.metadata.annotations", {}))),
    Mutation("compose_operations", "the daemon stays down after a crash", compose_edit(
        "daemon", _set("restart", "no"))),
    Mutation("compose_operations", "no healthcheck on the webserver", compose_edit(
        "webserver", _set("healthcheck", _DELETE))),
    Mutation("compose_operations", "the daemon before the code server", compose_edit(
        "daemon", lambda s: s["depends_on"].pop("code-server"))),
    Mutation("compose_operations", "the code server before the migration", compose_edit(
        "code-server", _set("depends_on", {}))),
    Mutation("compose_operations", "a hard dependency on an inactive profile", compose_edit(
        "instance-migrate", _set("depends_on.cloud-sql-proxy.required", True))),
    Mutation("compose_operations", "the UI on every interface", compose_edit(
        "webserver", _set("ports", ["3000:3000"]))),
    Mutation("compose_operations", "no database by default", text_edit(
        "env_example", "COMPOSE_PROFILES=postgres\n", "")),
    Mutation("workflow", "make test instead of .ci/run", text_edit(
        "workflow", "run: bash .ci/run", "run: make test")),
    Mutation("workflow", ".ci/run without root", text_edit(
        "workflow", "      image: python:3.11-bookworm\n", "      image: ubuntu:24.04\n")),
    Mutation("workflow", "no image", text_edit(
        "workflow", "python:3.11-slim-bookworm make image", "python:3.11-slim-bookworm true")),
    Mutation("workflow", "no terraform validate", text_edit(
        "workflow", "deploy/terraform validate -no-color", "deploy/terraform version")),
    Mutation("workflow", "init reaches for the state backend", text_edit(
        "workflow", " -backend=false", "")),
    Mutation("workflow", "terraform not set up", text_edit(
        "workflow", "hashicorp/setup-terraform@v3", "actions/setup-node@v4")),
    Mutation("workflow", "no pull requests", text_edit("workflow", "  pull_request:\n", "")),
    Mutation("placeholders", "a Helm placeholder envsubst leaves", helm_edit(
        _set("dagsterWebserver.env", {"GCP_PROJECT": "${GCP_PROJECT}"}))),
    Mutation("placeholders", "a proxy placeholder envsubst leaves", lambda r: r.with_parsed(
        "proxy", _set("1.spec.template.spec.containers.0.args.0", "--port=${PROXY_PORT}"))),
    Mutation("placeholders", "a compose variable .env.example does not mention", compose_edit(
        "code-server", _set("environment.RETAIL_EXTRA", "${RETAIL_EXTRA_SETTING}"))),
]
# fmt: on

# ---------------------------------------------------------------------------------------
# Tests


@pytest.fixture(scope="module")
def recipes() -> Recipes:
    return load_recipes()


@pytest.mark.parametrize("name", list(CHECKS))
def test_the_recipes_pass(name: str, recipes: Recipes) -> None:
    assert CHECKS[name](recipes) == []


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda mutation: mutation.description)
def test_each_fault_is_flagged(mutation: Mutation, recipes: Recipes) -> None:
    assert CHECKS[mutation.check](mutation.apply(recipes)), (
        f"check {mutation.check} let through: {mutation.description}"
    )


def test_every_check_has_a_fault_it_catches() -> None:
    assert {mutation.check for mutation in MUTATIONS} == set(CHECKS)


def test_the_topology_test_gets_compose_commands(recipes: Recipes) -> None:
    """compose_commands (production.py) changes only the program's path, the host, the
    ports and the workspace's path of compose's commands; the workspace it points at loads,
    with the variables it returns, as the code server on loopback under the location name."""
    from retail_platform.patches.dagster_private import location_origins_from_yaml_paths

    loopback = compose_commands(code_port=4123, web_port=3123)
    assert set(loopback.commands) == set(DAGSTER_SERVICES)
    for name, argv in loopback.commands.items():
        original = [str(item) for item in recipes.services[name]["command"]]
        assert len(argv) == len(original) and Path(argv[0]).name == original[0], (name, argv)
        changed = {
            (before, after)
            for before, after in zip(original[1:], argv[1:], strict=True)
            if before != after
        }
        allowed = {("0.0.0.0", "127.0.0.1"), ("4000", "4123"), ("3000", "3123")}
        allowed.add((WORKSPACE_PATH, str(PROJECT_ROOT / WORKSPACE_PATH)))
        assert changed <= allowed, (name, changed)
    with pytest.MonkeyPatch.context() as patch:
        for variable, value in loopback.env.items():
            patch.setenv(variable, value)
        [origin] = location_origins_from_yaml_paths([str(PROJECT_ROOT / WORKSPACE_PATH)])
    assert (origin.host, origin.port, origin.location_name) == (
        "127.0.0.1",
        4123,
        recipes.dagster_project["code_location_name"],
    )


def test_make_dev_and_production_serve_one_location(recipes: Recipes) -> None:
    """`make dev` (dg dev, from [tool.dg.project]) and the repository's workspace.yaml (the
    launchpad, `dagster dev -w`) load the module production's code server serves, under the
    name production's workspace gives it: runs and sensor states keep their location."""
    from retail_platform.patches.dagster_private import location_origins_from_yaml_paths

    [origin] = location_origins_from_yaml_paths([str(PROJECT_ROOT / "workspace.yaml")])
    assert origin.location_name == recipes.dagster_project["code_location_name"]
    assert (
        origin.loadable_target_origin.module_name
        == (recipes.dagster_project["code_location_target_module"])
    )
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    assert re.search(r"^dev:.*\n(?:\t.*\n)*\t.*/dg dev ", makefile, re.MULTILINE), "make dev"
