-- depends_on: {{ ref('rejects') }} (gold waits for the reject-rate tests: sql/macros/reject_rate.sql)
{{ config(
    materialized='incremental',
    on_schema_change='fail',
    tags=['partitioned'],
    **window_replace_config(cluster_by=['store_id'], require_partition_filter=true)
) }}

select
    {{ surrogate_key(['store_id', 'product_id', 'transaction_date']) }} as inventory_key,
    {{ surrogate_key(['store_id']) }} as store_key,
    {{ surrogate_key(['product_id']) }} as product_key,
    store_id,
    product_id,
    transaction_date,
    on_hand,
    reorder_point,
    received_qty,
    damaged_qty,
    on_hand < reorder_point as below_reorder_point
from {{ ref('inventory') }}
where {{ in_window('transaction_date') }}
