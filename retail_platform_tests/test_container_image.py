"""The deployment's image (deploy/image/Containerfile), built the way CI builds it and
checked from inside.

The module's fixture builds the image with deploy/image/build.sh: ``buildah bud --isolation
chroot --storage-driver vfs`` in a storage of its own (.image-build/), on a Debian bookworm
base that debootstrap makes from Debian's archive (no registry is reachable here). Every
check then runs in a container of that image with ``buildah run --isolation chroot``, as the
image's own (non-root) user, in a network namespace that has only a loopback interface: the
code location loads for the bigquery target with no Google project, credentials or network.

Marker ``image``: not part of ``make test`` (pyproject's addopts deselect it); ``make
test-image`` runs it, and .ci/run calls that after ``make test``. Needs root (debootstrap,
buildah's storage, network namespaces), as CI runs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tomllib
import uuid
from pathlib import Path

import pytest
from packaging.requirements import Requirement

pytestmark = pytest.mark.image

ROOT = Path(__file__).resolve().parents[1]
IMAGE = os.environ.get("RETAIL_IMAGE", "localhost/retail-platform:latest")
BUILD_DIR = Path(os.environ.get("IMAGE_BUILD_DIR", ROOT / ".image-build"))
APP = "/opt/retail_platform"
MANIFEST = f"{APP}/sql/target/bigquery/manifest.json"
APP_UID = 10001
# Environment variables that would carry a credential (docs/deploy.md: all injected at run
# time, none in the image).
CREDENTIAL_ENV = re.compile(r"CREDENTIAL|PASSWORD|SECRET|TOKEN|WEBHOOK|_KEY\b|^GCP_|^DAGSTER_PG_")
# python:3.11-slim (the production base) sets GPG_KEY: the id of the release manager's
# public key, not a credential.
NOT_CREDENTIALS = {"GPG_KEY"}


# buildah on the image build's own storage (deploy/image/build.sh uses the same).
BUILDAH = [
    "buildah",
    *("--root", str(BUILD_DIR / "storage"), "--runroot", str(BUILD_DIR / "run")),
    *("--storage-driver", "vfs"),
]


def buildah(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*BUILDAH, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def run_in(
    container: str,
    *command: str,
    env: dict[str, str] | None = None,
    workdir: str | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess:
    """``command`` in ``container`` as the image's user, with loopback as the only network.

    buildah's chroot isolation runs in the host's network namespace (it refuses --network
    none), so the namespace is made around it: ``unshare --net`` with ``lo`` up.
    """
    options = [f"--env={name}={value}" for name, value in (env or {}).items()]
    if workdir:
        options.append(f"--workingdir={workdir}")
    buildah_run = [*BUILDAH, "run", "--isolation", "chroot", *options, container, "--", *command]
    command = ["unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *buildah_run]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    ) as process:
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            out, err = process.communicate()
            pytest.fail(f"no end after {timeout} s: {' '.join(buildah_run)}\n{out}\n{err}")
    return subprocess.CompletedProcess(command, process.returncode, out, err)


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def image() -> dict:
    """The image, built now from this checkout (deploy/image/build.sh, as ``make image``),
    and its configuration as ``buildah inspect`` tells it."""
    if os.geteuid() != 0:
        pytest.fail(
            "the image test needs root (debootstrap, buildah, unshare): sudo make test-image"
        )
    subprocess.run(
        [str(ROOT / "deploy/image/build.sh")],
        env={**os.environ, "IMAGE": IMAGE, "IMAGE_BUILD_DIR": str(BUILD_DIR)},
        check=True,
        timeout=1800,
    )
    return json.loads(ok(buildah("inspect", "--type", "image", IMAGE)))


@pytest.fixture(scope="module")
def container(image) -> str:
    """One working container of the image for every check (vfs copies the whole image for
    each: ~40 s)."""
    name = f"retail-image-test-{uuid.uuid4().hex[:8]}"
    ok(buildah("from", "--name", name, IMAGE))
    yield name
    buildah("rm", name)


def test_image_configuration(image):
    """The non-root user (numeric, so Kubernetes' runAsNonRoot can check it), the defaults
    of the deployment, both ports, the code server as the default command, no credential."""
    config = image["OCIv1"]["config"]
    assert config["User"] == f"{APP_UID}:{APP_UID}"
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["RETAIL_TARGET"] == "bigquery"
    assert env["DAGSTER_HOME"] == "/opt/dagster/home"
    assert env["RETAIL_DATA_DIR"] == "/var/lib/retail_platform"
    assert env["PATH"].startswith(f"{APP}/.venv/bin:")
    assert not [n for n in env if CREDENTIAL_ENV.search(n) and n not in NOT_CREDENTIALS], env
    assert "GOOGLE_APPLICATION_CREDENTIALS" not in env
    assert set(config["ExposedPorts"]) == {"3000/tcp", "4000/tcp"}
    assert config["Cmd"][:3] == ["dagster", "code-server", "start"]
    assert "retail_platform.definitions" in config["Cmd"]
    assert config["WorkingDir"] == APP


def test_runs_as_non_root_with_read_only_code(container):
    """The processes are the image's user; the code and venv are root's, so they cannot be
    changed at run time; what they write (DAGSTER_HOME, dbt's target folder, data/) is the
    user's (DAGSTER_HOME's run_leases/ included)."""
    script = (
        "id -u; id -un; "
        f"for path in {APP}/.venv/bin {APP}/retail_platform {APP}/sql/models "
        f"/opt/dagster/home/run_leases {APP}/sql/target/bigquery /var/lib/retail_platform; do "
        '[ -w "$path" ] && echo "writable $path" || echo "read-only $path"; done'
    )
    lines = ok(run_in(container, "sh", "-c", script)).split("\n")
    assert lines[:2] == [str(APP_UID), "dagster"]
    assert f"read-only {APP}/.venv/bin" in lines
    assert f"read-only {APP}/retail_platform" in lines
    assert f"read-only {APP}/sql/models" in lines
    assert "writable /opt/dagster/home/run_leases" in lines
    assert f"writable {APP}/sql/target/bigquery" in lines
    assert "writable /var/lib/retail_platform" in lines


def test_instance_is_the_production_one(container):
    """DAGSTER_HOME holds deploy/dagster.yaml unchanged, and every class it names imports
    from the image's venv (the storages need PostgreSQL to start: that is
    test_production_topology.py's)."""
    script = (
        "import importlib, yaml\n"
        "config = yaml.safe_load(open('/opt/dagster/home/dagster.yaml'))\n"
        "for key, value in config.items():\n"
        "    if isinstance(value, dict) and 'module' in value:\n"
        "        getattr(importlib.import_module(value['module']), value['class'])\n"
        "        print(key, value['class'])\n"
    )
    out = ok(run_in(container, "python", "-c", script))
    assert "event_log_storage SlotReclaimingPostgresEventLogStorage" in out
    assert "compute_logs GCSComputeLogManager" in out
    home = ok(run_in(container, "cat", "/opt/dagster/home/dagster.yaml"))
    assert home == (ROOT / "deploy/dagster.yaml").read_text()
    # deploy/'s instance and workspace are beside the code; terraform, compose, helm are not.
    shipped = [
        name for name in ("dagster.yaml", "workspace.yaml") if (ROOT / "deploy" / name).exists()
    ]
    assert ok(run_in(container, "ls", f"{APP}/deploy")).split() == shipped
    for name in shipped:
        assert (
            ok(run_in(container, "cat", f"{APP}/deploy/{name}"))
            == (ROOT / "deploy" / name).read_text()
        )


def test_definitions_load_for_bigquery_without_google(container):
    """``dagster definitions validate`` loads the code location for the bigquery target with
    no GCP_PROJECT, no credentials and no network but loopback, from the manifest built into
    the image: dbt does not run (nothing in its target folder changes)."""
    listing = f"ls -l --time-style=+%s {APP}/sql/target/bigquery"
    before = ok(run_in(container, "sh", "-c", listing))
    # DAGSTER_HOME empty: a temporary instance (the production one needs PostgreSQL).
    result = run_in(
        container,
        "dagster",
        "definitions",
        "validate",
        "-m",
        "retail_platform.definitions",
        env={"DAGSTER_HOME": ""},
        workdir="/tmp",
    )
    output = ok(result) + result.stderr
    assert "Validation successful for code location retail_platform.definitions" in output
    assert ok(run_in(container, "sh", "-c", listing)) == before


def test_cli_help(container):
    out = ok(run_in(container, "retail-platform", "--help"))
    assert "simulate" in out and "demo" in out


def test_manifest_is_built_for_bigquery(container):
    """manifest.json for the bigquery target, with the profile's placeholder project (no
    project of the build machine's, no credentials needed to parse)."""
    script = (
        "import json, collections\n"
        f"m = json.load(open('{MANIFEST}'))\n"
        "nodes = [n for n in m['nodes'].values() if n['resource_type'] == 'model']\n"
        "print(json.dumps({'adapter': m['metadata']['adapter_type'], 'models': len(nodes),\n"
        "  'databases': sorted({n['database'] for n in nodes}),\n"
        "  'schemas': sorted({n['schema'] for n in nodes})}))\n"
    )
    manifest = json.loads(ok(run_in(container, "python", "-c", script)))
    assert manifest["adapter"] == "bigquery"
    assert manifest["models"] >= 30
    assert manifest["databases"] == ["unset-project"]
    assert {"retail_silver", "retail_gold", "retail_marts"} <= set(manifest["schemas"])


def test_installed_packages_are_uv_lock_without_dev(container):
    """The venv holds exactly uv.lock's runtime packages at their locked versions: no dev
    dependency (pytest, ruff, playwright, ...)."""
    exported = subprocess.run(
        [
            shutil.which("uv") or str(ROOT / ".venv/bin/uv"),
            "export",
            "--frozen",
            "--no-dev",
            "--no-hashes",
            "--no-emit-project",
            "--no-header",
            "--no-annotate",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    locked = {}  # for this platform: the image's is this machine's (Linux x86_64, 3.11)
    for line in exported.splitlines():
        if "==" in line and not line.startswith("#"):
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate():
                [spec] = requirement.specifier
                locked[canonical(requirement.name)] = spec.version
    script = (
        "import importlib.metadata as md, json\n"
        "print(json.dumps({d.metadata['Name']: d.version for d in md.distributions()}))\n"
    )
    installed = {
        canonical(name): version
        for name, version in json.loads(ok(run_in(container, "python", "-c", script))).items()
    }
    installed.pop("retail-platform")
    assert installed == locked
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]["dev"]
    assert "pytest" not in installed and not [
        name for name in map(requirement_name, dev) if name in installed and name not in locked
    ]


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    return canonical(re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0])


def test_uv_version_is_the_locked_one():
    """The Containerfile installs the uv that uv.lock pins for the dev group."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    [locked] = [p["version"] for p in lock["package"] if p["name"] == "uv"]
    containerfile = (ROOT / "deploy/image/Containerfile").read_text()
    assert f"ARG UV_VERSION={locked}\n" in containerfile


def test_no_credentials_in_the_image(container):
    """No key file, no Application Default Credentials, no service-account JSON outside the
    venv's libraries, no build secret left behind, and none of the build host's own CAs
    (the CA bundle was a build secret)."""
    script = (
        "find / -xdev \\( -path /proc -o -path /sys -o -path /opt/retail_platform/.venv \\) "
        "-prune -o -type f \\( -name '*credentials*.json' -o -name '*key*.json' "
        "-o -name '*.pem' -o -name '*.p12' -o -name '.env' \\) -print 2>/dev/null; "
        # a service-account key's field, in any text file outside the venv's libraries
        "grep -rlIE '\"private_key\"[[:space:]]*:' /opt/retail_platform/retail_platform "
        "/opt/retail_platform/sql /opt/dagster /home /root /etc /tmp 2>/dev/null; "
        "ls /run/secrets 2>/dev/null; true"
    )
    found = ok(run_in(container, "sh", "-c", script)).split()
    assert not found, f"credential-like files in the image: {found}"
    bundle = ok(run_in(container, "cat", "/etc/ssl/certs/ca-certificates.crt"))
    local_cas = sorted(Path("/usr/local/share/ca-certificates").glob("**/*.crt"))
    for ca in local_cas:
        body = "".join(line for line in ca.read_text().splitlines() if not line.startswith("-"))
        assert body[:200] not in bundle.replace("\n", ""), f"{ca.name} is in the image"


def test_the_three_processes_run_from_the_image(image, container):
    """The image's default command (the code server), dagster-webserver and dagster-daemon,
    each its own process in the image, on loopback: the webserver loads the code location
    from the code server over gRPC and lists its jobs; the daemon's heartbeats arrive."""
    script = f"/tmp/image_processes-{uuid.uuid4().hex[:8]}.py"
    processes = Path(__file__).parent / "helpers" / "image_processes.py"
    ok(buildah("copy", container, str(processes), script))
    cmd = json.dumps(image["OCIv1"]["config"]["Cmd"])
    result = json.loads(
        ok(run_in(container, "python", script, cmd, workdir="/tmp")).strip().splitlines()[-1]
    )
    print(f"\nthree processes from the image: {result}")
    assert result["uid"] == APP_UID
    assert {"daily_pipeline", "full_backfill", "churn_scoring", "simulate_day"} <= set(
        result["jobs"]
    )
    assert result["daemons"] and all(result["daemons"].values()), result["daemons"]
