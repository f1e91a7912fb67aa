"""deploy/terraform grants least privilege, proved on the HCL itself.

No GCP project is reachable here, and ``terraform validate``/``plan`` need the provider, so
the configuration is read with python-hcl2 and every grant it makes is listed (resource,
principal, role, scope) and held against what each account may have. Each check also runs
on a copy of the configuration with one deliberate fault (``MUTATIONS``), which it must
flag: a check that cannot fail proves nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TERRAFORM_DIR = PROJECT_ROOT / "deploy" / "terraform"
DEPLOY_INSTANCE = PROJECT_ROOT / "deploy" / "dagster.yaml"
# Plain strings (no surrounding quotes), no comments: the shape the checks below read.
_HCL_OPTIONS = hcl2.SerializationOptions(
    strip_string_quotes=True, with_comments=False, explicit_blocks=False
)

# ---------------------------------------------------------------------------------------
# Reading the configuration


@dataclass(frozen=True)
class TerraformConfig:
    resources: dict[str, dict[str, dict[str, Any]]]  # type -> name -> body
    variables: dict[str, dict[str, Any]]
    locals: dict[str, Any]
    outputs: dict[str, dict[str, Any]]
    documents: dict[str, dict[str, Any]]  # file name -> parsed file (tfvars example too)

    @property
    def layers(self) -> list[str]:
        return list(self.variables["layers"]["default"])

    def body(self, address: str) -> dict[str, Any]:
        kind, name = address.split(".", 1)
        return self.resources[kind][name]


@cache
def _parse(text: str) -> dict[str, Any]:
    # Cached by content: a mutated copy re-parses only the file it changed.
    return hcl2.loads(text, serialization_options=_HCL_OPTIONS)


def load_config(directory: Path) -> TerraformConfig:
    resources: dict[str, dict[str, dict[str, Any]]] = {}
    variables: dict[str, dict[str, Any]] = {}
    local_values: dict[str, Any] = {}
    outputs: dict[str, dict[str, Any]] = {}
    documents: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.tf")):
        document = _parse(path.read_text())
        documents[path.name] = document
        for block in document.get("resource", []):
            for kind, by_name in block.items():
                for name, body in by_name.items():
                    assert name not in resources.get(kind, {}), f"{kind}.{name} declared twice"
                    resources.setdefault(kind, {})[name] = body
        for block in document.get("variable", []):
            variables.update(block)
        for block in document.get("locals", []):
            local_values.update(block)
        for block in document.get("output", []):
            outputs.update(block)
    for path in sorted(directory.glob("*.tfvars*")):
        documents[path.name] = _parse(path.read_text())
    return TerraformConfig(resources, variables, local_values, outputs, documents)


def strings(value: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a parsed document, keys included, with where it sits."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield f"{where}.{key}", str(key)
            yield from strings(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings(item, f"{where}[{index}]")


# ---------------------------------------------------------------------------------------
# Grants: who gets which role on what


@dataclass(frozen=True)
class Grant:
    address: str  # the resource, e.g. google_project_iam_member.bi_job_user
    principal: str  # "pipeline"/"bi" for google_service_account.<name>, else the member
    role: str
    scope: str  # project | dataset:<layer> | bucket:<name> | service_account:<name> | <type>


@dataclass(frozen=True)
class Authorization:
    """An access entry letting another dataset's views (or a view, a routine) read one."""

    address: str
    source: str  # the layer whose data is shared
    authorized: str  # the layer whose views may read it
    target_types: tuple[str, ...]


_SERVICE_ACCOUNT_REF = re.compile(r"google_service_account\.(\w+)\.(?:email|member|name|id)\b")
_DATASET_REF = re.compile(r'google_bigquery_dataset\.\w+\["(\w+)"\]')
_BUCKET_REF = re.compile(r"google_storage_bucket\.(\w+)\.")
# The for_each forms read below; any other is an unknown instance, which no check accepts.
_FOR_EACH_REF = re.compile(
    r"^\$\{(?:toset\()?(?:(var|local)\.(\w+)|google_bigquery_dataset\.\w+)\)?\}$"
)
_FOR_EACH_EMPTY = re.compile(r"^\$\{(?:toset\()?\[\]\)?\}$")
_FOR_EACH_TOGGLE = re.compile(r"^\$\{[\w.]+ \? (.+) : (.+)\}$")
_FOR_LAYER = re.compile(r"^\$\{\{for \w+ in var\.layers : .*\}\}$")
_MEMBER_FIELDS = ("member", "user_by_email", "group_by_email", "iam_member", "special_group")
# BigQuery's dataset roles and the predefined roles the provider sends them as.
_DATASET_ROLES = {
    "READER": "roles/bigquery.dataViewer",
    "WRITER": "roles/bigquery.dataEditor",
    "OWNER": "roles/bigquery.dataOwner",
}


def _collection(value: Any, config: TerraformConfig) -> list[str] | None:
    """The keys a for_each over ``value`` iterates; None when it cannot be told."""
    if isinstance(value, list):
        return [str(item) for item in value]
    if isinstance(value, dict):
        return [str(key) for key in value]
    if not isinstance(value, str):
        return None
    if _FOR_EACH_EMPTY.match(value):
        return []
    if _FOR_LAYER.match(value):  # { for layer in var.layers : ... }
        return list(config.layers)
    toggle = _FOR_EACH_TOGGLE.match(value)
    if toggle:  # flag ? these : none: both branches, so the "on" case is checked
        branches = [_collection(f"${{{branch}}}", config) for branch in toggle.groups()]
        return None if None in branches else [key for keys in branches for key in keys or []]
    reference = _FOR_EACH_REF.match(value)
    if reference is None:
        return None
    kind, name = reference.groups()
    if kind is None:  # the datasets themselves: one per layer
        return list(config.layers)
    if kind == "var":
        return _collection(config.variables.get(name, {}).get("default"), config)
    return _collection(config.locals.get(name), config)


def instances(body: dict[str, Any], config: TerraformConfig) -> list[str]:
    """The for_each keys of a resource ("" for a single one, "?<for_each>" for keys that
    cannot be told). A count counts as one instance: the grant exists when its toggle is on."""
    if "for_each" not in body:
        return [""]
    keys = _collection(body["for_each"], config)
    return [f"?{body['for_each']}"] if keys is None else keys


def _substitute(expression: str, key: str) -> str:
    return re.sub(r"\$\{each\.(?:key|value)\}", key, expression)


def principal_of(expression: str, key: str) -> str:
    match = _SERVICE_ACCOUNT_REF.search(expression)
    return match.group(1) if match else _substitute(expression, key)


def dataset_of(expression: str, key: str, config: TerraformConfig) -> str:
    """The layer a dataset_id expression names; "?<expression>" when it cannot be told
    (which no allow-list accepts)."""
    match = _DATASET_REF.search(expression)
    if match:
        return match.group(1)
    if "each." in expression and key:
        return key
    prefix = config.locals.get("dataset_prefix", "")
    if prefix and expression.startswith(prefix) and expression[len(prefix) :] in config.layers:
        return expression[len(prefix) :]
    return f"?{expression}"


def _scope(kind: str, body: dict[str, Any], key: str, config: TerraformConfig) -> str:
    if kind.startswith("google_project_iam_"):
        return "project"
    if kind.startswith("google_bigquery_dataset"):
        return f"dataset:{dataset_of(body['dataset_id'], key, config)}"
    if kind.startswith("google_storage_bucket_iam_"):
        match = _BUCKET_REF.search(body["bucket"])
        return f"bucket:{match.group(1) if match else body['bucket']}"
    if kind.startswith("google_service_account_iam_"):
        return f"service_account:{principal_of(body['service_account_id'], key)}"
    return kind


def _members(body: dict[str, Any]) -> list[str]:
    members = [body[field] for field in _MEMBER_FIELDS if field in body]
    return members + list(body.get("members", []))


def grants(config: TerraformConfig) -> list[Grant]:
    found: list[Grant] = []
    for kind, by_name in config.resources.items():
        if not (
            re.search(r"_iam_(member|binding)$", kind) or kind == "google_bigquery_dataset_access"
        ):
            continue
        for name, body in by_name.items():
            if "role" not in body:
                continue  # an authorization, see authorizations()
            role = _DATASET_ROLES.get(body["role"], body["role"])
            for key in instances(body, config):
                scope = _scope(kind, body, key, config)
                found += [
                    Grant(f"{kind}.{name}", principal_of(member, key), role, scope)
                    for member in _members(body)
                ]
    return found


def authorizations(config: TerraformConfig) -> list[Authorization]:
    found: list[Authorization] = []
    for name, body in config.resources.get("google_bigquery_dataset_access", {}).items():
        for key in instances(body, config):
            source = dataset_of(body["dataset_id"], key, config)
            for entry in body.get("dataset", []):
                inner = entry["dataset"][0]["dataset_id"]
                found.append(
                    Authorization(
                        f"google_bigquery_dataset_access.{name}",
                        source,
                        dataset_of(inner, "", config),
                        tuple(entry.get("target_types", [])),
                    )
                )
            found += [
                Authorization(f"google_bigquery_dataset_access.{name}", source, kind, ())
                for kind in ("view", "routine")
                for _ in body.get(kind, [])
            ]
    return found


# ---------------------------------------------------------------------------------------
# The checks: each returns what is wrong, [] when nothing is

PRIMITIVE_ROLE = re.compile(r"\broles/(owner|editor|viewer)\b", re.IGNORECASE)
JOB_USER = "roles/bigquery.jobUser"
BI_ALLOWED = {(JOB_USER, "project"), ("roles/bigquery.dataViewer", "dataset:marts")}
MARTS_VIEW_SOURCES = {"gold", "ml"}  # docs/gcp.md: marts' views read gold and ml
ENVIRONMENT = (  # docs/gcp.md section 2
    "RETAIL_TARGET",
    "GCP_PROJECT",
    "GCP_LOCATION",
    "RETAIL_LANDING_BUCKET",
    "RETAIL_LANDING_PREFIX",
)
OBJECT_ADMIN = "roles/storage.objectAdmin"
# storage.buckets.get (+ objects.list): GCSComputeLogManager checks that its bucket exists.
BUCKET_READER = "roles/storage.legacyBucketReader"
# Every storage role the pipeline account may hold, and where: the landing bucket and the
# compute log bucket, nothing else (compute_logs.tf says why each).
PIPELINE_STORAGE = {
    (OBJECT_ADMIN, "bucket:landing"),
    (OBJECT_ADMIN, "bucket:compute_logs"),
    (BUCKET_READER, "bucket:compute_logs"),
}
WORKLOAD_IDENTITY_MEMBER = re.compile(
    r"^serviceAccount:[^\[\]]+\.svc\.id\.goog\[[^/\]]+/[^/\]]+\]$"
)


def check_no_primitive_roles(config: TerraformConfig) -> list[str]:
    """roles/owner, roles/editor, roles/viewer nowhere: not in a grant, a variable's
    default, a local nor the tfvars example."""
    return [
        f"{file}{where}: {value!r} is a basic role"
        for file, document in config.documents.items()
        for where, value in strings(document)
        if PRIMITIVE_ROLE.search(value)
    ]


def check_no_service_account_keys(config: TerraformConfig) -> list[str]:
    return [
        f"google_service_account_key.{name}: no key (attached accounts, Workload Identity)"
        for name in config.resources.get("google_service_account_key", {})
    ]


def check_no_authoritative_iam(config: TerraformConfig) -> list[str]:
    """Only additive grants: an *_iam_policy or *_iam_binding would remove every grant
    made outside this configuration (and, on a dataset, its authorized datasets)."""
    return [
        f"{kind}.{name}: authoritative IAM; use *_iam_member / google_bigquery_dataset_access"
        for kind, by_name in config.resources.items()
        if re.search(r"_iam_(policy|binding)$", kind)
        for name in by_name
    ]


def check_bi_account(config: TerraformConfig) -> list[str]:
    """The BI account: dataViewer on marts and jobUser on the project, nothing else (no
    role on raw, silver, gold or ml, nor on another account)."""
    if "bi" not in config.resources.get("google_service_account", {}):
        return ["google_service_account.bi is missing"]
    given = {(g.role, g.scope): g for g in grants(config) if g.principal == "bi"}
    problems = [
        f"{grant.address}: BI gets {role} on {scope}; it may read retail_marts only"
        for (role, scope), grant in given.items()
        if (role, scope) not in BI_ALLOWED
    ]
    return problems + [f"BI lacks {role} on {scope}" for role, scope in BI_ALLOWED - given.keys()]


def check_pipeline_account(config: TerraformConfig) -> list[str]:
    """The pipeline account: dataEditor on every retail dataset, jobUser, its storage roles
    on the landing and compute log buckets, cloudsql.client when Cloud SQL is on; nothing
    else."""
    if "pipeline" not in config.resources.get("google_service_account", {}):
        return ["google_service_account.pipeline is missing"]
    required = {(JOB_USER, "project")} | PIPELINE_STORAGE
    required |= {("roles/bigquery.dataEditor", f"dataset:{layer}") for layer in config.layers}
    allowed = required | {("roles/cloudsql.client", "project")}
    given = {(g.role, g.scope): g for g in grants(config) if g.principal == "pipeline"}
    problems = [
        f"{grant.address}: pipeline gets {role} on {scope}, beyond what it needs"
        for (role, scope), grant in given.items()
        if (role, scope) not in allowed
    ]
    return problems + [
        f"pipeline lacks {role} on {scope}" for role, scope in required - given.keys()
    ]


def check_storage_roles_on_landing_and_compute_log_buckets_only(
    config: TerraformConfig,
) -> list[str]:
    """No storage role at project level (it would cover every bucket in the project), and
    the pipeline's storage roles are on the landing bucket and the compute log bucket only:
    objectAdmin on both, and on the log bucket the bucket read the log manager needs."""
    return [
        f"{g.address}: {g.principal} gets {g.role} on {g.scope}; the pipeline may hold only "
        f"{sorted(PIPELINE_STORAGE)}"
        for g in grants(config)
        if g.role.startswith("roles/storage.")
        and (
            g.scope == "project"
            or (g.principal == "pipeline" and (g.role, g.scope) not in PIPELINE_STORAGE)
        )
    ]


def check_marts_authorized_views(config: TerraformConfig) -> list[str]:
    """retail_marts is an authorized dataset (VIEWS) on gold and on ml, and no other
    dataset, view or routine is authorized anywhere."""
    found = authorizations(config)
    problems = [
        f"{a.address}: {a.authorized} authorized on {a.source}; only marts on gold and ml"
        for a in found
        if a.authorized != "marts" or a.source not in MARTS_VIEW_SOURCES
    ]
    for source in sorted(MARTS_VIEW_SOURCES):
        entries = [a for a in found if a.authorized == "marts" and a.source == source]
        if not entries:
            problems.append(f"marts is not an authorized dataset on {source}")
        problems += [
            f"{a.address}: marts on {source} has target_types {list(a.target_types)}, not [VIEWS]"
            for a in entries
            if a.target_types != ("VIEWS",)
        ]
    return problems


def check_datasets(config: TerraformConfig) -> list[str]:
    """One dataset per layer, each with a location and labels, and its grants made only by
    google_bigquery_dataset_access: no access blocks (authoritative) and no dataset IAM
    resources (they remove authorized datasets), which would fight over the access list."""
    datasets = config.resources.get("google_bigquery_dataset", {})
    problems = [
        f"google_bigquery_dataset.{name}: no {field}"
        for name, body in datasets.items()
        for field in ("location", "labels")
        if not body.get(field)
    ]
    problems += [
        f"google_bigquery_dataset.{name}: access blocks; grant with google_bigquery_dataset_access"
        for name, body in datasets.items()
        if "access" in body
    ]
    problems += [
        f"{kind}.{name}: dataset IAM resources erase the authorized datasets"
        for kind, by_name in config.resources.items()
        if kind.startswith("google_bigquery_dataset_iam_")
        for name in by_name
    ]
    declared = sorted(key for body in datasets.values() for key in instances(body, config))
    if declared != sorted(config.layers):
        problems.append(f"datasets {declared} are not one per layer {config.layers}")
    return problems


def check_landing_bucket(config: TerraformConfig) -> list[str]:
    bucket = config.resources.get("google_storage_bucket", {}).get("landing")
    if bucket is None:
        return ["google_storage_bucket.landing is missing"]
    problems = []
    if bucket.get("uniform_bucket_level_access") is not True:
        problems.append("landing bucket: uniform_bucket_level_access is not true")
    if bucket.get("public_access_prevention") != "enforced":
        problems.append("landing bucket: public_access_prevention is not enforced")
    if [block.get("enabled") for block in bucket.get("versioning", [])] != [True]:
        problems.append("landing bucket: versioning is not enabled")
    rules = bucket.get("lifecycle_rule", [])
    if not rules or not all(rule.get("action") and rule.get("condition") for rule in rules):
        problems.append("landing bucket: no lifecycle rule with an action and a condition")
    return problems


@cache
def instance_compute_log_variables() -> tuple[str, ...]:
    """The variables deploy/dagster.yaml's compute log manager reads (bucket, prefix)."""
    config = yaml.safe_load(DEPLOY_INSTANCE.read_text())["compute_logs"]["config"]
    return tuple(value["env"] for value in config.values() if isinstance(value, dict))


def check_compute_logs_bucket(config: TerraformConfig) -> list[str]:
    """The bucket of deploy/dagster.yaml's GCSComputeLogManager: uniform access, never
    public, a lifecycle rule that deletes logs after var.compute_logs_retention_days; its
    name and prefix in the environment output, as the variables the instance reads."""
    bucket = config.resources.get("google_storage_bucket", {}).get("compute_logs")
    if bucket is None:
        return ["google_storage_bucket.compute_logs is missing"]
    problems = []
    if bucket.get("uniform_bucket_level_access") is not True:
        problems.append("compute log bucket: uniform_bucket_level_access is not true")
    if bucket.get("public_access_prevention") != "enforced":
        problems.append("compute log bucket: public_access_prevention is not enforced")
    deletes_by_age = [
        rule
        for rule in bucket.get("lifecycle_rule", [])
        if any(action.get("type") == "Delete" for action in rule.get("action", []))
        and any(
            condition.get("age") == "${var.compute_logs_retention_days}"
            for condition in rule.get("condition", [])
        )
    ]
    if not deletes_by_age:
        problems.append(
            "compute log bucket: no lifecycle rule deleting logs at age "
            "var.compute_logs_retention_days"
        )
    if "compute_logs_bucket" not in config.outputs:
        problems.append("output compute_logs_bucket is missing")
    environment = config.locals.get("environment", {})
    bucket_variable, *_ = instance_compute_log_variables()
    if environment.get(bucket_variable) != "${google_storage_bucket.compute_logs.name}":
        problems.append(f"environment: {bucket_variable} is not the compute log bucket")
    problems += [
        f"environment lacks {name} (deploy/dagster.yaml reads it)"
        for name in instance_compute_log_variables()
        if name not in environment
    ]
    return problems


def check_workload_identity(config: TerraformConfig) -> list[str]:
    """Kubernetes service accounts may act as the pipeline account, only behind the toggle;
    no other role on any service account (none may act as BI, or mint the pipeline's keys)."""
    on_accounts = [g for g in grants(config) if g.scope.startswith("service_account:")]
    problems = [
        f"{g.address}: {g.role} for {g.principal} on {g.scope}; only workloadIdentityUser "
        "for a Kubernetes service account on the pipeline account"
        for g in on_accounts
        if g.role != "roles/iam.workloadIdentityUser"
        or g.scope != "service_account:pipeline"
        or not WORKLOAD_IDENTITY_MEMBER.match(g.principal)
    ]
    addresses = {g.address for g in on_accounts if g.role == "roles/iam.workloadIdentityUser"}
    if not addresses:
        problems.append("no Workload Identity binding on the pipeline account")
    for address in sorted(addresses):
        body = config.body(address)
        toggle = str(body.get("for_each", "")) + str(body.get("count", ""))
        if "var.workload_identity_enabled" not in toggle:
            problems.append(f"{address}: not behind var.workload_identity_enabled")
    return problems


def check_outputs(config: TerraformConfig) -> list[str]:
    wanted = ("pipeline_service_account_email", "bi_service_account_email", "landing_bucket")
    wanted += ("dataset_ids", "environment")
    problems = [f"output {name} is missing" for name in wanted if name not in config.outputs]
    environment = config.locals.get("environment", {})
    problems += [f"environment lacks {name}" for name in ENVIRONMENT if name not in environment]
    if environment.get("RETAIL_TARGET") != "bigquery":
        problems.append("environment: RETAIL_TARGET is not bigquery")
    problems += [
        f"environment: {name} looks like a credential; there is none to hand out"
        for name in environment
        if "CREDENTIALS" in name
    ]
    return problems


@cache
def code_dataset_ids() -> dict[str, str]:
    """Each layer's dataset as the code names it, in layer order: raw from the raw assets,
    the others from the dbt translator's layers and their +schema in sql/dbt_project.yml."""
    from retail_platform.defs.raw.assets import RAW_SCHEMA, raw_asset_key
    from retail_platform.defs.transforms.translator import LAYERS

    dbt_project = yaml.safe_load((PROJECT_ROOT / "sql" / "dbt_project.yml").read_text())
    models = dbt_project["models"]["retail_platform"]
    raw_layer = raw_asset_key("any").path[0]
    return {raw_layer: RAW_SCHEMA, **{layer: models[layer]["+schema"] for layer in LAYERS}}


def terraform_dataset_ids(config: TerraformConfig) -> dict[str, str]:
    """local.dataset_ids evaluated: { for layer in var.layers : layer => "<template>" }."""
    match = re.fullmatch(
        r'\$\{\{for (\w+) in var\.layers : \1 => "(.*)"\}\}', config.locals.get("dataset_ids", "")
    )
    if match is None:
        return {}
    variable, template = match.groups()
    named = template.replace("${local.dataset_prefix}", config.locals.get("dataset_prefix", "?"))
    return {layer: named.replace(f"${{{variable}}}", layer) for layer in config.layers}


def check_layers_match_code(config: TerraformConfig) -> list[str]:
    """var.layers' default is the code's list of layers, and the dataset ids the code's."""
    expected = code_dataset_ids()
    problems = []
    if config.layers != list(expected):
        problems.append(f"var.layers default {config.layers} != the code's layers {list(expected)}")
    if terraform_dataset_ids(config) != expected:
        problems.append(f"dataset ids {terraform_dataset_ids(config)} != the code's {expected}")
    dataset = config.resources.get("google_bigquery_dataset", {}).get("layer", {})
    if (dataset.get("for_each"), dataset.get("dataset_id")) != (
        "${local.dataset_ids}",
        "${each.value}",
    ):
        problems.append("google_bigquery_dataset.layer is not one dataset per local.dataset_ids")
    return problems


CHECKS: dict[str, Callable[[TerraformConfig], list[str]]] = {
    check.__name__.removeprefix("check_"): check
    for check in (
        check_no_primitive_roles,
        check_no_service_account_keys,
        check_no_authoritative_iam,
        check_bi_account,
        check_pipeline_account,
        check_storage_roles_on_landing_and_compute_log_buckets_only,
        check_marts_authorized_views,
        check_datasets,
        check_landing_bucket,
        check_compute_logs_bucket,
        check_workload_identity,
        check_outputs,
        check_layers_match_code,
    )
}

# ---------------------------------------------------------------------------------------
# The faults each check must catch


@dataclass(frozen=True)
class Mutation:
    check: str
    description: str
    file: str
    old: str | None  # None: append ``new`` to the file
    new: str

    def apply(self, directory: Path) -> None:
        path = directory / self.file
        text = path.read_text()
        if self.old is None:
            path.write_text(f"{text}\n{self.new}\n")
            return
        # Loud when the configuration changed under the mutation, never a silent no-op.
        assert text.count(self.old) == 1, (
            f"{self.description}: {self.old!r} not once in {self.file}"
        )
        path.write_text(text.replace(self.old, self.new))


PIPELINE = "serviceAccount:${google_service_account.pipeline.email}"
BI = "serviceAccount:${google_service_account.bi.email}"
BI_ON_MARTS = '"roles/bigquery.dataViewer"\n  user_by_email = google_service_account.bi.email'


def _project_grant(role: str, member: str) -> str:
    return (
        'resource "google_project_iam_member" "bad" {\n'
        f'  project = var.project_id\n  role    = "{role}"\n  member  = "{member}"\n}}'
    )


def _dataset_grant(layer: str, role: str, account: str) -> str:
    return (
        'resource "google_bigquery_dataset_access" "bad" {\n'
        f'  dataset_id    = google_bigquery_dataset.layer["{layer}"].dataset_id\n'
        f'  role          = "{role}"\n'
        f"  user_by_email = google_service_account.{account}.email\n}}"
    )


def _resource(kind: str, *lines: str) -> str:
    return f'resource "{kind}" "bad" {{\n' + "".join(f"  {line}\n" for line in lines) + "}"


KEY = _resource(
    "google_service_account_key", "service_account_id = google_service_account.pipeline.name"
)
BINDING = _resource(
    "google_project_iam_binding",
    "project = var.project_id",
    'role    = "roles/bigquery.jobUser"',
    f'members = ["{PIPELINE}"]',
)
DATASET_IAM = _resource(
    "google_bigquery_dataset_iam_member",
    'dataset_id = google_bigquery_dataset.layer["marts"].dataset_id',
    'role       = "roles/bigquery.dataViewer"',
    f'member     = "{PIPELINE}"',
)
TOKEN_CREATOR = _resource(
    "google_service_account_iam_member",
    "service_account_id = google_service_account.pipeline.name",
    'role               = "roles/iam.serviceAccountTokenCreator"',
    'member             = "user:someone@example.com"',
)
MARTS_SOURCES = 'marts_view_sources = ["gold", "ml"]'
ACCESS_BLOCK = '  access {\n    role          = "OWNER"\n    special_group = "projectOwners"\n  }\n'
ONLY_SOME = '{ for k, v in google_bigquery_dataset.layer : k => v if k != "ml" }'
WORKLOAD_IDENTITY_TOGGLE = (
    "var.workload_identity_enabled ? toset(var.k8s_service_accounts) : toset([])"
)

STORAGE = "storage_roles_on_landing_and_compute_log_buckets_only"
LOG_GRANT = (
    'bucket = google_storage_bucket.compute_logs.name\n  role   = "roles/storage.objectAdmin"'
)


def _bucket_grant(bucket: str, role: str) -> str:
    return _resource(
        "google_storage_bucket_iam_member",
        f"bucket = google_storage_bucket.{bucket}.name",
        f'role   = "{role}"',
        f'member = "{PIPELINE}"',
    )


# One fault per row: (check, fault, file, text replaced or None to append, new text).
# fmt: off
MUTATIONS = [
    Mutation("no_primitive_roles", "pipeline is project editor", "iam.tf", None,
             _project_grant("roles/editor", PIPELINE)),
    Mutation("no_primitive_roles", "a basic role as a variable default", "variables.tf", None,
             'variable "extra_role" {\n  default = "roles/viewer"\n}'),
    Mutation("no_service_account_keys", "a key for the pipeline", "iam.tf", None, KEY),
    Mutation("no_authoritative_iam", "an authoritative binding", "iam.tf", None, BINDING),
    Mutation("bi_account", "BI reads gold (PII)", "iam.tf", None,
             _dataset_grant("gold", "roles/bigquery.dataViewer", "bi")),
    Mutation("bi_account", "BI reads raw with the legacy READER role", "iam.tf", None,
             _dataset_grant("raw", "READER", "bi")),
    Mutation("bi_account", "BI reads every dataset through a project role", "iam.tf", None,
             _project_grant("roles/bigquery.dataViewer", BI)),
    Mutation("bi_account", "BI loses marts", "iam.tf", BI_ON_MARTS,
             '"roles/bigquery.dataViewer"\n  user_by_email = "someone@example.com"'),
    Mutation("pipeline_account", "pipeline is BigQuery admin", "iam.tf", None,
             _project_grant("roles/bigquery.admin", PIPELINE)),
    Mutation("pipeline_account", "pipeline cannot write ml", "iam.tf",
             "for_each = google_bigquery_dataset.layer\n", f"for_each = {ONLY_SOME}\n"),
    Mutation(STORAGE, "objectAdmin project-wide", "iam.tf",
             None, _project_grant("roles/storage.objectAdmin", PIPELINE)),
    Mutation(STORAGE, "objectAdmin on another bucket", "iam.tf",
             "bucket = google_storage_bucket.landing.name", 'bucket = "some-other-bucket"'),
    Mutation(STORAGE, "the log grant on another bucket", "compute_logs.tf",
             LOG_GRANT, LOG_GRANT.replace("google_storage_bucket.compute_logs.name",
                                          '"some-other-bucket"')),
    Mutation(STORAGE, "storage admin on the log bucket", "compute_logs.tf",
             LOG_GRANT, LOG_GRANT.replace("roles/storage.objectAdmin", "roles/storage.admin")),
    Mutation(STORAGE, "the bucket read on the landing bucket too", "iam.tf", None,
             _bucket_grant("landing", BUCKET_READER)),
    Mutation("pipeline_account", "no bucket read on the log bucket", "compute_logs.tf",
             '"roles/storage.legacyBucketReader"', '"roles/storage.objectViewer"'),
    Mutation("marts_authorized_views", "marts authorized on tables too", "iam.tf",
             'target_types = ["VIEWS"]', 'target_types = ["VIEWS", "TABLES"]'),
    Mutation("marts_authorized_views", "marts not authorized on ml", "iam.tf",
             MARTS_SOURCES, 'marts_view_sources = ["gold"]'),
    Mutation("marts_authorized_views", "marts authorized on silver", "iam.tf",
             MARTS_SOURCES, 'marts_view_sources = ["gold", "ml", "silver"]'),
    Mutation("datasets", "a dataset without labels", "datasets.tf",
             "  labels      = merge(var.labels, { layer = each.key })\n", ""),
    Mutation("datasets", "a dataset without location", "datasets.tf",
             "  location    = var.location\n", ""),
    Mutation("datasets", "dataset IAM beside access entries", "iam.tf", None, DATASET_IAM),
    Mutation("datasets", "authoritative access blocks", "datasets.tf",
             "  delete_contents_on_destroy = false\n",
             "  delete_contents_on_destroy = false\n" + ACCESS_BLOCK),
    Mutation("landing_bucket", "fine-grained ACLs", "landing.tf",
             "uniform_bucket_level_access = true", "uniform_bucket_level_access = false"),
    Mutation("landing_bucket", "no versioning", "landing.tf",
             "versioning {\n    enabled = true", "versioning {\n    enabled = false"),
    Mutation("landing_bucket", "no lifecycle rule", "landing.tf",
             "  lifecycle_rule {", "  unused_rule {"),
    Mutation("landing_bucket", "public access possible", "landing.tf",
             '= "enforced"', '= "inherited"'),
    Mutation("compute_logs_bucket", "fine-grained ACLs on the logs", "compute_logs.tf",
             "uniform_bucket_level_access = true", "uniform_bucket_level_access = false"),
    Mutation("compute_logs_bucket", "public logs possible", "compute_logs.tf",
             '= "enforced"', '= "inherited"'),
    Mutation("compute_logs_bucket", "logs kept for ever", "compute_logs.tf",
             "  lifecycle_rule {", "  unused_rule {"),
    Mutation("compute_logs_bucket", "a retention typed in, not the variable", "compute_logs.tf",
             "age = var.compute_logs_retention_days", "age = 90"),
    Mutation("compute_logs_bucket", "the processes are not told the bucket", "outputs.tf",
             "    DAGSTER_COMPUTE_LOGS_BUCKET = google_storage_bucket.compute_logs.name\n", ""),
    Mutation("workload_identity", "bindings whatever the toggle", "workload_identity.tf",
             WORKLOAD_IDENTITY_TOGGLE, "toset(var.k8s_service_accounts)"),
    Mutation("workload_identity", "Kubernetes may act as BI", "workload_identity.tf",
             "google_service_account.pipeline.name", "google_service_account.bi.name"),
    Mutation("workload_identity", "a user may mint the pipeline's tokens", "iam.tf", None,
             TOKEN_CREATOR),
    Mutation("outputs", "no landing prefix for the platform", "outputs.tf",
             "    RETAIL_LANDING_PREFIX       = var.landing_prefix\n", ""),
    Mutation("layers_match_code", "a layer missing from the default", "variables.tf",
             '["raw", "silver", "gold", "ml", "marts"]', '["raw", "silver", "gold", "marts"]'),
    Mutation("layers_match_code", "datasets named differently from the code", "datasets.tf",
             'dataset_prefix = "retail_"', 'dataset_prefix = "shop_"'),
]
# fmt: on


def _copy(tmp_path: Path) -> Path:
    directory = tmp_path / "terraform"
    shutil.copytree(TERRAFORM_DIR, directory, ignore=shutil.ignore_patterns(".terraform"))
    return directory


# ---------------------------------------------------------------------------------------
# terraform fmt


def terraform_binary() -> str | None:
    found = shutil.which("terraform")
    if found:
        return found
    fallback = Path("/usr/local/bin/terraform")
    return str(fallback) if fallback.is_file() and os.access(fallback, os.X_OK) else None


def fmt_problems(directory: Path, terraform: str) -> list[str]:
    result = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-list=true", "-no-color", str(directory)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode == 0:
        return []
    listed = result.stdout.strip() or result.stderr.strip()
    return [f"terraform fmt -check failed (exit {result.returncode}): {listed}"]


TERRAFORM = terraform_binary()
# .ci/run does not install terraform yet (it runs make lint and make test only): on a
# machine without it the fmt tests say so instead of failing.
needs_terraform = pytest.mark.skipif(
    TERRAFORM is None,
    reason="terraform is not installed (not on PATH, no /usr/local/bin/terraform) and .ci/run "
    "does not install it, so `terraform fmt -check` cannot run",
)

# ---------------------------------------------------------------------------------------
# Tests


@pytest.fixture(scope="module")
def config() -> TerraformConfig:
    return load_config(TERRAFORM_DIR)


@pytest.mark.parametrize("name", list(CHECKS))
def test_the_configuration_passes(name: str, config: TerraformConfig) -> None:
    assert CHECKS[name](config) == []


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda mutation: mutation.description)
def test_each_fault_is_flagged(mutation: Mutation, tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    mutation.apply(directory)
    assert CHECKS[mutation.check](load_config(directory)), (
        f"check {mutation.check} let through: {mutation.description}"
    )


def test_every_check_has_a_fault_it_catches() -> None:
    assert {mutation.check for mutation in MUTATIONS} == set(CHECKS)


def test_grants_are_read_as_terraform_makes_them(config: TerraformConfig) -> None:
    """The reading the checks rely on, spelled out for the real configuration."""
    listed = {(g.principal, g.role, g.scope) for g in grants(config)}
    assert ("bi", "roles/bigquery.dataViewer", "dataset:marts") in listed
    assert {
        ("pipeline", "roles/bigquery.dataEditor", f"dataset:{layer}") for layer in config.layers
    } <= listed
    assert {(a.source, a.authorized, a.target_types) for a in authorizations(config)} == {
        ("gold", "marts", ("VIEWS",)),
        ("ml", "marts", ("VIEWS",)),
    }
    assert code_dataset_ids() == terraform_dataset_ids(config)


@needs_terraform
def test_terraform_fmt_check_passes() -> None:
    assert TERRAFORM is not None
    assert fmt_problems(TERRAFORM_DIR, TERRAFORM) == []


@needs_terraform
def test_terraform_fmt_check_flags_unformatted_code(tmp_path: Path) -> None:
    assert TERRAFORM is not None
    directory = _copy(tmp_path)
    (directory / "unformatted.tf").write_text('locals {\nx="badly"\n    y = 1\n}\n')
    assert fmt_problems(directory, TERRAFORM)
