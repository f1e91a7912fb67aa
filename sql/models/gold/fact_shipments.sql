-- depends_on: {{ ref('rejects') }} (gold waits for the reject-rate tests: sql/macros/reject_rate.sql)
{{ config(
    materialized='incremental',
    on_schema_change='fail',
    tags=['partitioned'],
    **window_replace_config(cluster_by=['store_id'], require_partition_filter=true)
) }}

{#- One row per shipment (latest known status) of the run's days, with its order's store
    (the order may live on another day). -#}
with shipments as (
    select * from {{ ref('shipments') }} where {{ in_window('transaction_date') }}
),

orders as (
    select order_id, store_id from {{ ref('orders') }}
    where order_id in (select order_id from shipments)
)

select
    {{ surrogate_key(['shipments.shipment_id']) }} as shipment_key,
    shipments.shipment_id,
    {{ surrogate_key(['shipments.order_id']) }} as order_key,
    shipments.order_id,
    orders.store_id,
    shipments.transaction_date,
    shipments.carrier,
    shipments.service_level,
    shipments.status,
    shipments.shipped_at,
    shipments.promised_on,
    shipments.delivered_at,
    shipments.damaged,
    shipments.cost,
    shipments.delivered_at is not null as is_delivered,
    case when shipments.delivered_at is not null
        then {{ days_between('shipments.promised_on', 'cast(shipments.delivered_at as date)') }}
    end as delay_days
from shipments
left join orders on orders.order_id = shipments.order_id
