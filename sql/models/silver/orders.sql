{{ config(
    materialized='incremental',
    on_schema_change='fail',
    tags=['partitioned'],
    **window_replace_config(cluster_by=['store_id'])
) }}

{#- Valid orders of the window, newest version per natural key; the window replaces its partitions. -#}
select {{ silver_columns('orders') }}
from ({{ newest_per_key(ref('int_orders__validated'), ['order_id']) }}) as newest
