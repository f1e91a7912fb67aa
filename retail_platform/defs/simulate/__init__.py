"""Run the source simulator from the Dagster UI."""
