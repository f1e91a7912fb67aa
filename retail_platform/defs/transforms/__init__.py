"""Silver, gold and marts: the dbt project in sql/, as Dagster assets."""
