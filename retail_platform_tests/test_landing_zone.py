"""Both LandingZone implementations, the GCS one against fake-gcs-server."""

from datetime import UTC, date, datetime, timedelta

import pytest

from retail_platform.lib.landing_zone import (
    GCSLandingZone,
    LocalLandingZone,
    landed_span,
    landing_path,
    landing_path_problem,
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


def test_the_landed_span_is_the_first_and_last_day_with_contract_files(zone):
    """What make demo and the simulator read as the shop's opening day and last day."""
    assert landed_span(zone) is None
    zone.write_bytes(landing_path("orders", date(2025, 3, 4), "b", "jsonl"), b"{}\n")
    zone.write_bytes(landing_path("stores", DAY, "b", "jsonl"), b"{}\n")
    zone.write_bytes("orders/transaction_date=2025-02-01/notes.txt", b"not a contract file")
    zone.write_bytes("quarantine/orders/transaction_date=2025-03-09/b.jsonl", b"quarantined")
    assert landed_span(zone) == (DAY, date(2025, 3, 4))


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


def test_a_corrected_file_resolves_its_quarantine_into_resolved(zone):
    other = landing_path("orders", date(2025, 3, 2), "batch-1", "jsonl")
    zone.write_bytes(PATH, b"garbage\n")
    zone.write_bytes(other, b"garbage\n")
    zone.quarantine_file(PATH, "line 1: Expecting value")
    zone.quarantine_file(other, "line 1: Expecting value")
    assert zone.list_quarantined() == [PATH, other]
    assert zone.list_quarantined("orders", DAY) == [PATH]
    assert zone.list_quarantined("payments") == []
    assert zone.quarantine_reason(PATH) == "line 1: Expecting value"

    zone.write_bytes(PATH, b'{"fixed": 1}\n')  # the corrected file, same name
    moved = zone.resolve_quarantined(PATH)

    resolved = "quarantine/resolved/" + PATH
    assert moved == [resolved, resolved + ".error.json"]
    assert zone.read_bytes(resolved) == b"garbage\n"  # nothing deleted
    assert "Expecting value" in zone.read_bytes(resolved + ".error.json").decode()
    assert zone.list_quarantined() == [other]  # resolved/ is not in quarantine any more
    assert [f.path for f in zone.list_files("orders", DAY)] == [PATH]
    assert {f.path for f in zone.list_landed()} == {PATH}  # quarantine/ is never listed
    assert zone.resolve_quarantined(PATH) == []  # nothing left to resolve

    # Quarantined and resolved again: the earlier resolved copy keeps its name.
    zone.quarantine_file(PATH, "second reason")
    zone.write_bytes(PATH, b"garbage again\n")
    zone.quarantine_file(PATH, "third reason")  # the second one moves to resolved/ first
    assert zone.read_bytes(resolved) == b"garbage\n"
    second = "quarantine/resolved/orders/transaction_date=2025-03-01/batch-1.1.jsonl"
    assert zone.read_bytes(second) == b'{"fixed": 1}\n'
    assert zone.quarantine_reason(PATH) == "third reason"


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


STRAYS = [
    "orders/2025-03-01/x.jsonl",
    "Orders/transaction_date=2025-03-01/x.jsonl",
    "orders/transaction_date=2025-03-01/deeper/x.jsonl",
    "notes.txt",
]


def test_strays_are_listed_hidden_and_quarantined_files_are_not(zone):
    zone.write_bytes(PATH, b"one\n")
    for stray in STRAYS:
        zone.write_bytes(stray, b"x")
    zone.write_bytes("orders/transaction_date=2025-03-01/.b.jsonl.partial", b"half")
    zone.write_bytes(".hidden/orders/transaction_date=2025-03-01/b.jsonl", b"x")
    zone.write_bytes("orders/transaction_date=2025-03-01/.b.jsonl", b"x")  # hidden, not a batch
    zone.quarantine_file("notes.txt", "not a contract path")
    assert sorted(f.path for f in zone.list_landed()) == sorted([PATH, *STRAYS[:3]])
    assert sorted(f.path for f in zone.list_strays()) == sorted(STRAYS[:3])
    assert [f.path for f in zone.list_files()] == [PATH]


def test_gcs_folder_placeholders_are_not_files(gcs_zone, fake_gcs):
    _, client = fake_gcs
    client.bucket(gcs_zone.bucket).blob("landing/orders/").upload_from_string(b"")
    assert list(gcs_zone.list_landed()) == []


def test_a_local_file_is_settled_once_unchanged_for_settle_seconds(local_zone):
    local_zone.write_bytes(PATH, b"one\n")
    (file,) = local_zone.list_files()
    written = datetime.fromtimestamp(file.version / 1e9, UTC)
    assert not local_zone.is_settled(file, written + timedelta(seconds=9))
    assert local_zone.is_settled(file, written + timedelta(seconds=10.001))
    eager = local_zone.model_copy(update={"settle_seconds": 0})
    assert eager.is_settled(file, written)


def test_a_gcs_object_is_whole_as_soon_as_it_is_listed(gcs_zone):
    gcs_zone.write_bytes(PATH, b"one\n")
    (file,) = gcs_zone.list_files()
    assert gcs_zone.is_settled(file, datetime(2000, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("orders/2025-03-01/b.jsonl", "'2025-03-01' is not transaction_date=YYYY-MM-DD"),
        ("Orders/transaction_date=2025-03-01/b.jsonl", "entity folders are lower case"),
        ("orders/transaction_date=2025-03-01/a/b.jsonl", "4 level(s) deep"),
        ("orders/transaction_date=2025-02-30/b.jsonl", "impossible date '2025-02-30'"),
        ("orders/transaction_date=2025-03-01/b c.jsonl", "batch id 'b c' may only use"),
        ("orders/transaction_date=2025-03-01/b.JSONL", "'.JSONL' is not a landing file type"),
        ("orders/transaction_date=2025-03-01/b.parquet", "'.parquet' is not a landing file"),
    ],
)
def test_a_path_off_the_contract_says_what_is_wrong(path, says):
    problem = landing_path_problem(path)
    assert problem is not None and says in problem, problem
    assert landing_path_problem(PATH) is None
