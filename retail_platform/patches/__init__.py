"""Private Dagster API (``dagster._*``) the code location imports, in one place:
``dagster_private.py`` names each piece of ours that needs it, what that piece replaces,
its measured gain and when it can go; re-check on every Dagster upgrade (pinned in uv.lock).
Code imports such names from here, never from ``dagster._`` itself (a test checks)."""
