"""The instance's event log (retail_platform/dagster.yaml) stores a batch of asset events in
one transaction, keeps its databases open, and answers every asset query as Dagster's
stock SQLite event log does."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.events import ASSET_EVENTS, DagsterEventType

from retail_platform.instance import INSTANCE_TEMPLATE
from retail_platform.lib.event_log_storage import OPEN_DATABASES, BatchedSqliteEventLogStorage
from retail_platform.settings import BATCH_SIZE_ENV

DAYS = dg.DailyPartitionsDefinition(start_date="2025-01-01", end_date="2025-03-01")
ASSETS = ("orders", "customers", "sales")
FIRST, LAST = "2025-01-01", "2025-02-28"  # 59 partitions


def _asset(name: str, deps: list[str]) -> dg.AssetsDefinition:
    @dg.asset(
        name=name,
        deps=deps,
        partitions_def=DAYS,
        backfill_policy=dg.BackfillPolicy.single_run(),
        check_specs=[dg.AssetCheckSpec("has_days", asset=name)],
    )
    def _materialize(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        days = len(context.partition_keys)
        return dg.MaterializeResult(
            metadata={"days": days},
            check_results=[dg.AssetCheckResult(check_name="has_days", passed=days > 0)],
        )

    return _materialize


def _range_run(home: Path) -> dict:
    """One run over the range (as a UI backfill with a single-run policy), then what the UI
    asks the event log about it."""
    defs = dg.Definitions(
        assets=[_asset("orders", []), _asset("customers", ["orders"]), _asset("sales", ["orders"])],
        jobs=[dg.define_asset_job("everything", selection="*")],
    )
    with dg.DagsterInstance.from_config(str(home)) as instance:
        result = defs.resolve_job_def("everything").execute_in_process(
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": FIRST,
                "dagster/asset_partition_range_end": LAST,
            },
        )
        assert result.success
        planned = instance.get_records_for_run(
            result.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION_PLANNED, limit=10_000
        ).records
        answers = {"planned": sorted((r.asset_key.path[0], r.partition_key) for r in planned)}
        for name in ASSETS:
            key = dg.AssetKey(name)
            latest = instance.get_latest_materialization_event(key)
            answers[name] = {
                "materialized": sorted(instance.get_materialized_partitions(key)),
                "records": len(instance.fetch_materializations(key, limit=10_000).records),
                "latest_partition": latest.dagster_event.partition,
                "asset_record_run": instance.get_asset_records([key])[
                    0
                ].asset_entry.last_materialization.run_id
                == result.run_id,
                "checks": sorted(
                    (str(record.partition), record.status.value)
                    for record in instance.event_log_storage.get_asset_check_execution_history(
                        dg.AssetCheckKey(key, "has_days"), limit=10_000
                    )
                ),
            }
        return {"storage": type(instance.event_log_storage), "answers": answers}


@pytest.fixture
def batch_env(monkeypatch):
    """The batch size the storage sets for its process, restored after the test."""
    monkeypatch.delenv(BATCH_SIZE_ENV, raising=False)
    yield
    monkeypatch.delenv(BATCH_SIZE_ENV, raising=False)


def test_batched_event_log_answers_as_the_stock_one(tmp_path, monkeypatch, batch_env):
    stored_one_by_one: list[str] = []
    original = BatchedSqliteEventLogStorage.store_event

    def store_event(self, event):
        if event.is_dagster_event and event.dagster_event_type in ASSET_EVENTS:
            stored_one_by_one.append(event.dagster_event_type.value)
        return original(self, event)

    monkeypatch.setattr(BatchedSqliteEventLogStorage, "store_event", store_event)

    stock_home, batched_home = tmp_path / "stock", tmp_path / "batched"
    stock_home.mkdir()
    batched_home.mkdir()
    shutil.copyfile(INSTANCE_TEMPLATE, batched_home / "dagster.yaml")

    monkeypatch.setenv("DAGSTER_HOME", str(batched_home))
    batched = _range_run(batched_home)
    assert issubclass(batched["storage"], BatchedSqliteEventLogStorage)
    assert os.environ[BATCH_SIZE_ENV] == "1000"  # the storage turned batching on
    assert (batched_home / "history" / "runs" / "index.db").exists()  # where the stock one is
    monkeypatch.delenv(BATCH_SIZE_ENV)

    monkeypatch.setenv("DAGSTER_HOME", str(stock_home))
    stock = _range_run(stock_home)
    assert stock["storage"] is not BatchedSqliteEventLogStorage

    days = len(DAYS.get_partition_keys_in_range(dg.PartitionKeyRange(FIRST, LAST)))
    assert days == 59
    assert len(batched["answers"]["planned"]) == len(ASSETS) * days
    for name in ASSETS:
        assert len(batched["answers"][name]["materialized"]) == days
        assert batched["answers"][name]["records"] == days
        assert batched["answers"][name]["asset_record_run"]
        assert len(batched["answers"][name]["checks"]) >= days  # planned: a row per partition
    assert batched["answers"] == stock["answers"]
    # the 177 planned events and 177 materializations went in batches, none one by one
    assert stored_one_by_one == []


def test_a_process_keeps_its_databases_open_and_another_process_reads_every_event(
    tmp_path, monkeypatch, batch_env
):
    """One engine per database, reused for every event; each event committed as it is
    stored (another process, the UI's, reads it while the first keeps its connections)."""
    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(INSTANCE_TEMPLATE, home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))

    @dg.asset
    def one() -> int:
        return 1

    job = dg.Definitions(assets=[one], jobs=[dg.define_asset_job("j", "*")]).resolve_job_def("j")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, BatchedSqliteEventLogStorage)
        run_ids = [
            job.execute_in_process(instance=instance).run_id for _ in range(OPEN_DATABASES + 2)
        ]
        engine = storage._engine(run_ids[-1])
        assert storage._engine(run_ids[-1]) is engine  # reused, not one per event
        assert len(storage._engines) == OPEN_DATABASES  # the least recently used are closed
        with storage.index_connection() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        here = {run_id: len(instance.all_logs(run_id)) for run_id in run_ids}

        reader = (
            "import json, sys, dagster as dg\n"
            "with dg.DagsterInstance.from_config(sys.argv[1]) as instance:\n"
            "    print(json.dumps({r: len(instance.all_logs(r)) for r in sys.argv[2:]}))\n"
        )
        other = subprocess.run(
            [sys.executable, "-c", reader, str(home), *run_ids],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert json.loads(other.stdout.strip().splitlines()[-1]) == here
        assert all(count > 5 for count in here.values())

        storage._engines_pid = -1  # as in a forked child: its parent's connections are not reused
        assert storage._engine(run_ids[-1]) is not engine
