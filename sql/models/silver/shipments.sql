{{ config(
    materialized='incremental',
    on_schema_change='fail',
    tags=['partitioned'],
    **window_replace_config()
) }}

{#- Valid shipments of the window, newest version per natural key; the window replaces its partitions. -#}
select {{ silver_columns('shipments') }}
from ({{ newest_per_key(ref('int_shipments__validated'), ['shipment_id']) }}) as newest
