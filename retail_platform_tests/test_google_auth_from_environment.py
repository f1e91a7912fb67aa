"""A service-account key given as GCP_CREDENTIALS reaches the Google clients and dbt.

The key is made here (a fresh RSA key); its token_uri is a local token endpoint, so the
real google-auth library signs its JWT grant with the key and exchanges it for a token,
which the BigQuery client then sends to the emulator.
"""

import base64
import json
import os
import re
import stat
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs

import dagster as dg
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import jwt

from retail_platform.defs.resources import resources_for
from retail_platform.lib.gcp_credentials import (
    CREDENTIALS_ENV,
    KEY_FIELDS,
    KEY_TYPE,
    BigQueryClientResource,
    CredentialsError,
    credentials_env_var,
    decode_key,
    key_file_for_subprocess,
)
from retail_platform.lib.targets import Target

EMAIL = "retail-pipeline@test-project.iam.gserviceaccount.com"


class TokenEndpoint(BaseHTTPRequestHandler):
    """OAuth2 token endpoint: records each JWT grant and answers with a token."""

    grants: list[str] = []

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        self.grants.append(parse_qs(body)["assertion"][0])
        answer = json.dumps({"access_token": "token-from-key", "expires_in": 3600}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@pytest.fixture
def token_endpoint():
    server = HTTPServer(("127.0.0.1", 0), TokenEndpoint)
    TokenEndpoint.grants = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/token", TokenEndpoint.grants
    server.shutdown()


@pytest.fixture
def signing_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def encoded_key(signing_key, token_uri: str) -> str:
    pem = signing_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    # Exactly the fields the platform requires of a key (KEY_FIELDS), as google-auth and
    # dbt need them: nothing else of a real key file.
    values = (KEY_TYPE, EMAIL, pem, token_uri)
    key = dict(zip(KEY_FIELDS, values, strict=True))
    return base64.b64encode(json.dumps(key).encode()).decode()


@pytest.mark.bigquery
@pytest.mark.parametrize(
    "name", ["warehouse", "churn_engine", "forecast_engine", "recommendation_engine"]
)
def test_each_bigquery_resource_of_the_target_gets_its_client_from_the_environment(
    name, bigquery_env, token_endpoint, signing_key, monkeypatch
):
    """The warehouse and the BigQuery ML engines share their configuration and client
    (BigQueryClientResource): as the BigQuery target wires them, each one's client runs
    in GCP_PROJECT with the key of GCP_CREDENTIALS."""
    token_uri, grants = token_endpoint
    monkeypatch.setenv(CREDENTIALS_ENV, encoded_key(signing_key, token_uri))
    configured = resources_for(Target("bigquery", "bigquery", churn_engine="bqml"))[name]
    assert isinstance(configured, BigQueryClientResource)
    with dg.build_resources({name: configured}) as resources:
        built = getattr(resources, name)
        assert built.project == bigquery_env.project
        client = built._client()
        assert client.project == bigquery_env.project
        assert [tuple(row.values()) for row in client.query("SELECT 40 + 2").result()] == [(42,)]
    assert_signed_by(grants, signing_key)


def assert_signed_by(grants: list[str], signing_key) -> None:
    """One token was fetched (for the query), with a grant signed by ``signing_key``."""
    (grant,) = grants
    public_pem = signing_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = jwt.decode(grant, certs=public_pem)  # fails unless signed by this key
    assert claims["iss"] == EMAIL


def test_without_the_variable_clients_use_application_default_credentials(monkeypatch):
    monkeypatch.delenv(CREDENTIALS_ENV, raising=False)
    assert credentials_env_var() is None


def test_dbt_gets_the_key_as_a_private_file_only_while_it_runs(signing_key, monkeypatch):
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/path/of/adc.json")
    encoded = encoded_key(signing_key, "http://127.0.0.1:9/token")
    with key_file_for_subprocess(encoded):
        path = os.environ["GOOGLE_APPLICATION_CREDENTIALS"]
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        with open(path) as file:
            assert json.load(file)["client_email"] == EMAIL
    assert not os.path.exists(path)
    assert os.environ["GOOGLE_APPLICATION_CREDENTIALS"] == "/path/of/adc.json"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# A sentinel, not a key: the errors must never echo any part of the value.
SECRET = "sentinel-that-must-never-appear-in-an-error-4f1c9a"
BAD_KEYS = [
    ("not base64 at all!", "is not valid base64"),
    ("abc", "is not valid base64"),  # bad padding: binascii.Error in dagster-gcp
    (b64(b"\xff\xfe" + SECRET.encode()), "does not decode to UTF-8"),
    (b64(b'{"private_key": "' + SECRET.encode()), "does not decode to JSON"),
    (b64(json.dumps([SECRET]).encode()), "a JSON list, not an object"),
    (
        b64(json.dumps({"type": "authorized_user", "private_key": SECRET}).encode()),
        "missing or empty field(s) client_email, token_uri",
    ),
    (
        b64(json.dumps({**dict.fromkeys(KEY_FIELDS, SECRET), "type": "external_account"}).encode()),
        "its type is not 'service_account'",
    ),
]


@pytest.mark.parametrize(("value", "reason"), BAD_KEYS)
def test_a_bad_key_is_refused_without_echoing_it(value, reason):
    with pytest.raises(CredentialsError) as error:
        decode_key(value)
    message = str(error.value)
    assert message.startswith(f"{CREDENTIALS_ENV} ")
    assert reason in message
    assert "\n" not in message  # one line
    assert value not in message and "secret" not in message.lower()
    # no chained exception (a traceback would show it, with the value's bytes)
    assert error.value.__cause__ is None
    assert error.value.__context__ is None or error.value.__suppress_context__


@pytest.mark.parametrize(("value", "reason"), BAD_KEYS[:4])
def test_a_bad_variable_fails_where_the_resources_are_built(value, reason, monkeypatch):
    """Validated once, up front, where the BigQuery target builds its resources: before
    dagster-gcp's IO manager would fail on it (binascii.Error, JSONDecodeError) in a run."""
    monkeypatch.setenv(CREDENTIALS_ENV, value)
    with pytest.raises(CredentialsError, match=re.escape(reason)):
        credentials_env_var()
    with pytest.raises(CredentialsError, match=f"^{CREDENTIALS_ENV} "):
        resources_for(Target("bigquery", "bigquery", churn_engine="bqml"))


def test_a_good_variable_becomes_an_env_var_for_the_resources(signing_key, monkeypatch):
    monkeypatch.setenv(CREDENTIALS_ENV, encoded_key(signing_key, "http://127.0.0.1:9/token"))
    assert credentials_env_var() == dg.EnvVar(CREDENTIALS_ENV)
    resources = resources_for(Target("bigquery", "bigquery"))
    assert resources["warehouse"].gcp_credentials == dg.EnvVar(CREDENTIALS_ENV)
