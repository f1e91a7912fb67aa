{{ config(
    materialized='incremental',
    on_schema_change='fail',
    tags=['partitioned'],
    **window_replace_config()
) }}

{#- Valid payments of the window, newest version per natural key; the window replaces its partitions. -#}
select {{ silver_columns('payments') }}
from ({{ newest_per_key(ref('int_payments__validated'), ['payment_id']) }}) as newest
