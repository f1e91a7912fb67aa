from __future__ import annotations

import uuid

import pytest

from retail_platform.lib.landing_zone import GCSLandingZone, LocalLandingZone
from retail_platform_tests.emulators import FakeGCS


@pytest.fixture(scope="session")
def fake_gcs():
    """One fake-gcs-server for the session, speaking the real GCS JSON API."""
    server = FakeGCS()
    client = server.client()
    yield server, client
    server.stop()


@pytest.fixture
def gcs_zone(fake_gcs) -> GCSLandingZone:
    """A fresh bucket per test, used through the real google-cloud-storage client."""
    server, client = fake_gcs
    name = f"landing-{uuid.uuid4().hex[:12]}"
    client.create_bucket(name)
    return GCSLandingZone(bucket=name, prefix="landing", project="test-project")


@pytest.fixture
def local_zone(tmp_path) -> LocalLandingZone:
    return LocalLandingZone(root=str(tmp_path / "landing"))


@pytest.fixture(params=["local", "gcs"])
def zone(request, tmp_path):
    """Both landing zone implementations, for tests that must hold for each."""
    if request.param == "local":
        return LocalLandingZone(root=str(tmp_path / "landing"))
    return request.getfixturevalue("gcs_zone")
