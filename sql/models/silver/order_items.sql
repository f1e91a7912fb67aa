{{ config(
    materialized='incremental',
    on_schema_change='fail',
    tags=['partitioned'],
    **window_replace_config()
) }}

{#- Valid order_items of the window, newest version per natural key; the window replaces its partitions. -#}
select {{ silver_columns('order_items') }}
from ({{ newest_per_key(ref('int_order_items__validated'), ['order_id', 'line_no']) }}) as newest
