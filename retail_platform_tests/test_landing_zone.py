"""Both LandingZone implementations, the GCS one against fake-gcs-server."""

from datetime import date

import pytest

from retail_platform.lib.landing_zone import (
    GCSLandingZone,
    LocalLandingZone,
    landing_path,
    landing_zone_from_uri,
    parse_landing_path,
)

DAY = date(2025, 3, 1)
PATH = landing_path("orders", DAY, "batch-1", "jsonl")


def test_paths_follow_the_contract():
    assert PATH == "orders/transaction_date=2025-03-01/batch-1.jsonl"
    parsed = parse_landing_path(PATH)
    assert (parsed.entity, parsed.partition_date, parsed.fmt) == ("orders", DAY, "jsonl")
    for bad in [
        "orders/2025-03-01/b.jsonl",
        "nope/transaction_date=2025-03-01/b.jsonl",
        "orders/transaction_date=2025-02-30/b.jsonl",
        "orders/transaction_date=2025-03-01/b.parquet",
    ]:
        with pytest.raises(ValueError):
            parse_landing_path(bad)


def test_write_list_read(zone):
    zone.write_bytes(PATH, b"one\n")
    zone.write_bytes(landing_path("orders", date(2025, 3, 2), "b", "csv"), b"two\n")
    zone.write_bytes(landing_path("stores", DAY, "b", "jsonl"), b"three\n")
    zone.write_bytes("orders/transaction_date=2025-03-01/notes.txt", b"ignored")

    files = sorted(zone.list_files(), key=lambda f: f.path)
    assert [f.path for f in files] == [
        "orders/transaction_date=2025-03-01/batch-1.jsonl",
        "orders/transaction_date=2025-03-02/b.csv",
        "stores/transaction_date=2025-03-01/b.jsonl",
    ]
    assert [f.path for f in zone.list_files("orders", DAY)] == [PATH]
    assert [f.path for f in zone.list_files("stores")] == [files[2].path]
    assert zone.read_bytes(PATH) == b"one\n"
    assert files[0].size == 4


def test_rewriting_a_file_gives_it_a_newer_version(zone):
    zone.write_bytes(PATH, b"v1\n")
    (before,) = zone.list_files("orders")
    zone.write_bytes(PATH, b"v2\n")
    (after,) = zone.list_files("orders")
    assert after.version > before.version
    assert zone.read_bytes(PATH) == b"v2\n"


def test_quarantine_moves_the_file_and_writes_the_reason_beside_it(zone):
    zone.write_bytes(PATH, b"garbage\n")
    where = zone.quarantine_file(PATH, "line 1: Expecting value")
    assert where == "quarantine/" + PATH
    assert list(zone.list_files()) == []  # gone from the landing listing ...
    assert zone.read_bytes(where) == b"garbage\n"  # ... but nothing is lost
    report = zone.read_bytes(where + ".error.json").decode()
    assert "line 1: Expecting value" in report and PATH in report


def test_local_zone_refuses_paths_outside_its_root(local_zone):
    with pytest.raises(ValueError):
        local_zone.read_bytes("../etc/passwd")


def test_uri_picks_the_implementation(tmp_path):
    gcs = landing_zone_from_uri("gs://my-bucket/landing/retail")
    assert isinstance(gcs, GCSLandingZone)
    assert (gcs.bucket, gcs.prefix) == ("my-bucket", "landing/retail")
    assert isinstance(landing_zone_from_uri(str(tmp_path)), LocalLandingZone)
    with pytest.raises(ValueError):
        landing_zone_from_uri("gs:///nobucket")


def test_gcs_listing_follows_every_page(gcs_zone, fake_gcs):
    _, client = fake_gcs
    bucket = client.bucket(gcs_zone.bucket)
    names = [f"orders/transaction_date=2025-03-01/b{i:04d}.jsonl" for i in range(120)]
    for name in names:
        bucket.blob(f"landing/{name}").upload_from_string(b"x")
    small_pages = gcs_zone.model_copy(update={"list_page_size": 50})
    assert sorted(f.path for f in small_pages.list_files("orders")) == names
