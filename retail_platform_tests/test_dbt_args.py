"""How the dbt invocations are built (unit tests of our own helpers)."""

import os

from retail_platform.defs.transforms.assets import dbt_build_args, environment


def test_full_refresh_flag():
    assert dbt_build_args(full_refresh=True) == ["build", "--full-refresh"]
    assert dbt_build_args(full_refresh=False) == ["build"]


def test_the_window_is_set_for_one_invocation_and_then_restored(monkeypatch):
    monkeypatch.setenv("RETAIL_WINDOW_MIN_DATE", "1999-01-01")
    monkeypatch.delenv("RETAIL_WINDOW_MAX_DATE", raising=False)
    window = {"RETAIL_WINDOW_MIN_DATE": "2025-01-01", "RETAIL_WINDOW_MAX_DATE": "2025-01-08"}
    with environment(window):
        assert os.environ["RETAIL_WINDOW_MIN_DATE"] == "2025-01-01"
        assert os.environ["RETAIL_WINDOW_MAX_DATE"] == "2025-01-08"
    assert os.environ["RETAIL_WINDOW_MIN_DATE"] == "1999-01-01"
    assert "RETAIL_WINDOW_MAX_DATE" not in os.environ


def test_unpartitioned_models_run_without_a_window(monkeypatch):
    monkeypatch.setenv("RETAIL_WINDOW_MIN_DATE", "2025-01-01")
    with environment({}):
        assert "RETAIL_WINDOW_MIN_DATE" not in os.environ
    assert os.environ["RETAIL_WINDOW_MIN_DATE"] == "2025-01-01"
