{{ config(
    materialized='incremental',
    on_schema_change='fail',
    tags=['partitioned'],
    **window_replace_config(cluster_by=['store_id'])
) }}

{#- Valid inventory of the window, newest version per natural key; the window replaces its partitions. -#}
select {{ silver_columns('inventory') }}
from ({{ newest_per_key(ref('int_inventory__validated'), ['store_id', 'product_id', 'transaction_date']) }}) as newest
