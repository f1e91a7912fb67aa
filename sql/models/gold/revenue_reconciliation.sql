{{ config(
    materialized='incremental',
    on_schema_change='fail',
    tags=['partitioned'],
    **window_replace_config()
) }}

{#- Per day of the window: net revenue computed from silver by the contract's definitions,
    against gold/fact_sales. difference must be 0.

    A line counts on its order's day whatever day it landed on (contract), as fact_sales
    nests it. A table of the window's days, not a
    view: the check reads one day of it whatever the engine pushes into a view (on
    BigQuery a view read whole costs ~1 GB a check at a year). -#}
with silver_orders as (
    select order_id, transaction_date, status from {{ ref('orders') }}
    where {{ in_window('transaction_date') }}
),

silver_lines as (
    select
        order_id,
        round(quantity * unit_price * (1 - discount_rate), 2) as line_amount,
        round(quantity * unit_price, 2) as gross_amount
    from {{ ref('order_items') }}
    where order_id in (select order_id from silver_orders)
),

silver_revenue as (
    select
        orders.transaction_date,
        sum(case when orders.status = 'completed' then silver_lines.line_amount else 0 end)
            as net_revenue,
        sum(case when orders.status in ('completed', 'returned')
            then silver_lines.gross_amount else 0 end) as gross_revenue
    from silver_orders as orders
    inner join silver_lines on silver_lines.order_id = orders.order_id
    group by orders.transaction_date
),

gold_revenue as (
    select
        transaction_date,
        sum(net_revenue) as net_revenue,
        sum(case when is_sale then gross_amount else 0 end) as gross_revenue
    from {{ ref('fact_sales') }}
    where {{ in_window('transaction_date') }}
    group by transaction_date
)

select
    coalesce(silver_revenue.transaction_date, gold_revenue.transaction_date) as transaction_date,
    cast(coalesce(silver_revenue.net_revenue, 0) as {{ type_money() }}) as silver_net_revenue,
    cast(coalesce(gold_revenue.net_revenue, 0) as {{ type_money() }}) as gold_net_revenue,
    cast(coalesce(silver_revenue.gross_revenue, 0) as {{ type_money() }}) as silver_gross_revenue,
    cast(coalesce(gold_revenue.gross_revenue, 0) as {{ type_money() }}) as gold_gross_revenue,
    cast(coalesce(gold_revenue.net_revenue, 0) - coalesce(silver_revenue.net_revenue, 0)
        as {{ type_money() }}) as net_difference,
    cast(coalesce(gold_revenue.gross_revenue, 0) - coalesce(silver_revenue.gross_revenue, 0)
        as {{ type_money() }}) as gross_difference
from silver_revenue
full outer join gold_revenue on gold_revenue.transaction_date = silver_revenue.transaction_date
