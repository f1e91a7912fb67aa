"""retail_platform: a Dagster code location for a retail analytics warehouse.

Importing the package imports nothing else, so its Dagster-free parts (the settings, the
source simulator) stay light; the Dagster definitions are in ``definitions.py``."""
