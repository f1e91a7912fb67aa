"""Google Cloud credentials from the environment, never from the repository.

Without ``GCP_CREDENTIALS`` every client uses Application Default Credentials: a workload
identity, ``gcloud auth application-default login``, or a key file named by
``GOOGLE_APPLICATION_CREDENTIALS``. With it, the service-account key's *content*, base64
encoded (the convention of dagster-gcp's ``gcp_credentials``, which keeps the key's
newlines intact in an environment variable), reaches each resource through
``dagster.EnvVar``: our clients build credentials from it in memory; dbt, a separate
process, gets it as a key file that exists only while dbt runs. The value is checked
(base64, JSON, a service-account key's fields) when the resources are built, so a bad one
fails with a one-line error that names the variable and never shows the value.

:class:`BigQueryClientResource` holds what every resource that runs BigQuery jobs shares (the
warehouse, the BigQuery ML engines): project, location, key, and the client made of them.
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
from pydantic import Field

from retail_platform.settings import environment

CREDENTIALS_ENV = "GCP_CREDENTIALS"
KEY_FIELDS = ("type", "client_email", "private_key", "token_uri")
KEY_TYPE = "service_account"  # the "type" of a service-account key file


class CredentialsError(ValueError):
    """``GCP_CREDENTIALS`` is set but is not a service-account key: the message (one line)
    names the variable and what is wrong, never the value."""


def credentials_env_var() -> Any:
    """``EnvVar("GCP_CREDENTIALS")`` when it is set, else None (Application Default
    Credentials): a resource field that is an unset EnvVar fails the whole location.

    The value is validated here, where the resources are built, before any client (or
    dagster-gcp, whose own errors, ``binascii.Error`` or ``JSONDecodeError``, do not name
    the variable) reads it: a bad key fails loading the definitions with
    :class:`CredentialsError`."""
    value = os.environ.get(CREDENTIALS_ENV)
    if not value:
        return None
    decode_key(value)
    return dg.EnvVar(CREDENTIALS_ENV)


def decode_key(encoded: str) -> dict[str, Any]:
    """The service-account key in ``encoded`` (base64 of its JSON), checked step by step:
    base64, then JSON, then the key's fields. Errors (:class:`CredentialsError`, one line)
    name the variable and the step that failed, never the value or any part of it."""
    hint = "expected a service-account key file's JSON, base64 encoded (`base64 -w0 key.json`)"
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise CredentialsError(f"{CREDENTIALS_ENV} is not valid base64: {hint}") from None
    try:
        key = json.loads(decoded.decode("utf-8"))
    except UnicodeDecodeError:
        raise CredentialsError(
            f"{CREDENTIALS_ENV} is base64 but does not decode to UTF-8 text: {hint}"
        ) from None
    except json.JSONDecodeError as error:
        raise CredentialsError(
            f"{CREDENTIALS_ENV} is base64 but does not decode to JSON "
            f"({error.msg} at line {error.lineno} column {error.colno}): {hint}"
        ) from None
    if not isinstance(key, dict):
        raise CredentialsError(
            f"{CREDENTIALS_ENV} decodes to a JSON {type(key).__name__}, not an object: {hint}"
        )
    missing = [f for f in KEY_FIELDS if not (isinstance(key.get(f), str) and key[f].strip())]
    if missing:
        raise CredentialsError(
            f"{CREDENTIALS_ENV} is not a service-account key: missing or empty field(s) "
            f"{', '.join(missing)} (a key has {', '.join(KEY_FIELDS)})"
        )
    if key["type"] != KEY_TYPE:
        raise CredentialsError(
            f"{CREDENTIALS_ENV} is not a service-account key: its type is not {KEY_TYPE!r}"
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


class BigQueryClientResource(dg.ConfigurableResource):
    """The configuration and client of a resource that runs BigQuery jobs. A resource
    inherits it beside its own base, which keeps its other fields, e.g.
    ``class BigQueryMLChurnEngine(ChurnEngine, BigQueryClientResource)``, and makes its client
    with ``self._client()``; defs/resources.py sets the three fields from GCP_PROJECT,
    GCP_LOCATION and GCP_CREDENTIALS (:func:`credentials_env_var`)."""

    project: str = Field(
        description="GCP project that runs the jobs and holds the datasets (a dataset.table "
        "name without a project resolves in it)."
    )
    location: str | None = Field(
        default=None,
        description="BigQuery location of the jobs and of the datasets created (GCP_LOCATION, "
        "e.g. EU); None: the project's default.",
    )
    gcp_credentials: str | None = Field(
        default=None,
        description="Service-account key, base64 JSON (GCP_CREDENTIALS); None: ADC.",
    )

    def _client(self) -> Any:
        """A new BigQuery client for this project, location and key."""
        return bigquery_client(self.project, self.location, self.gcp_credentials)


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
