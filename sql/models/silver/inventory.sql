{{ config(tags=['partitioned'], **window_replace_config(cluster_by=['store_id'])) }}

{#- Valid inventory of the run's days, newest version per natural key (validated_rows.sql);
    the run replaces those days. -#}
{{ newest_valid_facts('inventory', ['store_id', 'product_id', 'transaction_date']) }}
