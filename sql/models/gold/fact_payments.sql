-- depends_on: {{ ref('rejects') }} (gold waits for the reject-rate tests: sql/macros/reject_rate.sql)
{{ config(
    materialized='incremental',
    on_schema_change='fail',
    tags=['partitioned'],
    **window_replace_config(require_partition_filter=true)
) }}

select
    {{ surrogate_key(['payment_id']) }} as payment_key,
    payment_id,
    {{ surrogate_key(['order_id']) }} as order_key,
    order_id,
    transaction_date,
    method,
    status,
    amount,
    attempt,
    paid_at
from {{ ref('payments') }}
where {{ in_window('transaction_date') }}
