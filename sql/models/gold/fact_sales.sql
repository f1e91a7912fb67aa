-- depends_on: {{ ref('rejects') }} (gold waits for the reject-rate tests: sql/macros/reject_rate.sql)
{{ config(
    materialized='incremental',
    on_schema_change='fail',
    tags=['partitioned'],
    **window_replace_config(cluster_by=['store_id'], require_partition_filter=true)
) }}

{#- One row per order of the run's days, its lines nested as a repeated record (by line_no).
    A line or payment belongs to its order whatever day it landed on (contract): they are
    looked up by order_id on every day; the run's days include the days of the orders whose
    lines or payments its files changed (defs/transforms/rebuild_days.py). -#}
with orders as (
    select * from {{ ref('orders') }} where {{ in_window('transaction_date') }}
),

lines as (
    select
        order_id,
        line_no,
        product_id,
        quantity,
        unit_price,
        discount_rate,
        cast(round(quantity * unit_price, 2) as {{ type_money() }}) as gross_amount,
        cast(round(quantity * unit_price * (1 - discount_rate), 2) as {{ type_money() }}) as line_amount
    from {{ ref('order_items') }}
    where order_id in (select order_id from orders)
),

order_lines as (
    select
        order_id,
        {{ nested_records([
            ('line_no', 'line_no'),
            ('product_id', 'product_id'),
            ('product_key', surrogate_key(['product_id'])),
            ('quantity', 'quantity'),
            ('unit_price', 'unit_price'),
            ('discount_rate', 'discount_rate'),
            ('gross_amount', 'gross_amount'),
            ('line_amount', 'line_amount'),
        ]) }} as line_items,
        count(*) as line_count,
        cast(sum(quantity) as {{ type_int() }}) as units,
        sum(gross_amount) as gross_amount,
        sum(line_amount) as net_amount
    from lines
    group by order_id
),

payments as (
    select
        order_id,
        case
            when sum(case when status = 'refunded' then 1 else 0 end) > 0 then 'refunded'
            when sum(case when status = 'succeeded' then 1 else 0 end) > 0 then 'paid'
            else 'failed'
        end as payment_status,
        count(*) as payment_attempts
    from {{ ref('payments') }}
    where order_id in (select order_id from orders)
    group by order_id
)

select
    {{ surrogate_key(['orders.order_id']) }} as order_key,
    orders.order_id,
    orders.transaction_date,
    orders.ordered_at,
    {{ surrogate_key(['orders.customer_id']) }} as customer_key,
    {{ surrogate_key(['orders.store_id']) }} as store_key,
    case when orders.employee_id is not null
        then {{ surrogate_key(['orders.employee_id']) }} end as employee_key,
    orders.customer_id,
    orders.store_id,
    orders.employee_id,
    orders.channel,
    orders.status,
    {#- Contract: an order none of whose lines is valid is incomplete, and no sale. Its
        lines are looked up on every day, so one landing later completes it (the run that
        loads the line rebuilds the order's day, rebuild_days.py). -#}
    orders.status in ('completed', 'returned') and order_lines.order_id is not null as is_sale,
    order_lines.order_id is null as is_incomplete,
    orders.status = 'returned' as is_returned,
    orders.status = 'cancelled' as is_cancelled,
    coalesce(payments.payment_status, 'none') as payment_status,
    coalesce(payments.payment_attempts, 0) as payment_attempts,
    order_lines.line_items,
    coalesce(order_lines.line_count, 0) as line_count,
    coalesce(order_lines.units, 0) as units,
    cast(coalesce(order_lines.gross_amount, 0) as {{ type_money() }}) as gross_amount,
    cast(coalesce(order_lines.net_amount, 0) as {{ type_money() }}) as net_amount,
    cast(coalesce(order_lines.gross_amount - order_lines.net_amount, 0) as {{ type_money() }})
        as discount_amount,
    {#- Contract: net revenue counts sales (completed, returned) and takes returns back,
        so a returned order contributes 0 and a cancelled order is no sale (an incomplete
        order has no lines: 0). -#}
    cast(case when orders.status = 'completed' then coalesce(order_lines.net_amount, 0) else 0 end
        as {{ type_money() }}) as net_revenue,
    cast(case when orders.status = 'returned' then -coalesce(order_lines.net_amount, 0) else 0 end
        as {{ type_money() }}) as returned_amount
from orders
left join order_lines on order_lines.order_id = orders.order_id
left join payments on payments.order_id = orders.order_id
