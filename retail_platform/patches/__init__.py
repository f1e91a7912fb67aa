"""Private Dagster API (``dagster._*``) the code location imports, in one place: each name
says what it replaces and when it can go; re-check on every Dagster upgrade (pinned in
uv.lock). New code imports such names from here, never from ``dagster._`` itself. The two
older library patches, ``lib/event_log_storage.py`` and ``lib/io_managers.py``, still import
theirs directly, each with its own note of what it replaces (to move here: issue 22)."""
