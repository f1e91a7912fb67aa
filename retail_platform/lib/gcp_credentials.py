"""Google Cloud credentials from the environment, never from the repository.

Without ``GCP_CREDENTIALS`` every client uses Application Default Credentials: a workload
identity, ``gcloud auth application-default login``, or a key file named by
``GOOGLE_APPLICATION_CREDENTIALS``. With it, the service-account key's *content*, base64
encoded (the convention of dagster-gcp's ``gcp_credentials``, which keeps the key's
newlines intact in an environment variable), reaches each resource through
``dagster.EnvVar``: our clients build credentials from it in memory; dbt, a separate
process, gets it as a key file that exists only while dbt runs.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg

from retail_platform.lib.environment import environment

CREDENTIALS_ENV = "GCP_CREDENTIALS"
KEY_FIELDS = ("type", "client_email", "private_key", "token_uri")
KEY_TYPE = "service_account"  # the "type" of a service-account key file


def credentials_env_var() -> Any:
    """``EnvVar("GCP_CREDENTIALS")`` when it is set, else None (Application Default
    Credentials): a resource field that is an unset EnvVar fails the whole location."""
    return dg.EnvVar(CREDENTIALS_ENV) if os.environ.get(CREDENTIALS_ENV) else None


def decode_key(encoded: str) -> dict[str, Any]:
    """The service-account key in ``encoded`` (base64 of its JSON). Errors name what is
    wrong with the value, never the value."""
    try:
        key = json.loads(base64.b64decode(encoded.strip(), validate=True))
    except (binascii.Error, ValueError) as error:
        raise ValueError(
            f"{CREDENTIALS_ENV} must be a service-account key file's JSON, base64 encoded "
            f"(`base64 -w0 key.json`): {type(error).__name__}"
        ) from None
    missing = [f for f in KEY_FIELDS if not isinstance(key, dict) or f not in key]
    if missing or key.get("type") != KEY_TYPE:
        raise ValueError(
            f"{CREDENTIALS_ENV} does not hold a service-account key "
            f"(type {KEY_TYPE} with {', '.join(KEY_FIELDS)}); missing: {missing}"
        )
    return key


def service_account_credentials(encoded: str | None) -> Any:
    """Credentials for a Google client, or None to let the client use ADC."""
    if not encoded:
        return None
    from google.oauth2 import service_account

    return service_account.Credentials.from_service_account_info(
        decode_key(encoded), scopes=["https://www.googleapis.com/auth/cloud-platform"]
    )


def bigquery_client(project: str, location: str | None, encoded: str | None) -> Any:
    """A BigQuery client with the key in ``encoded``, or with ADC when it is None."""
    from google.cloud import bigquery

    return bigquery.Client(
        project=project, location=location, credentials=service_account_credentials(encoded)
    )


@contextmanager
def key_file_for_subprocess(encoded: str | None) -> Iterator[None]:
    """While the block runs, ``GOOGLE_APPLICATION_CREDENTIALS`` names a private (0600)
    temporary copy of the key, for a child process such as dbt; removed afterwards.
    Without a key, nothing changes."""
    if not encoded:
        yield
        return
    key = decode_key(encoded)
    handle, path = tempfile.mkstemp(prefix="gcp-key-", suffix=".json")
    try:
        with os.fdopen(handle, "w") as file:  # mkstemp creates it readable by us only
            json.dump(key, file)
        with environment({"GOOGLE_APPLICATION_CREDENTIALS": path}):
            yield
    finally:
        os.remove(path)
