{{ config(
    materialized='incremental',
    on_schema_change='fail',
    tags=['partitioned'],
    **window_replace_config(cluster_by=['product_id'])
) }}

{#- Units and net revenue of sales orders per day and product. A returned line nets to
    zero revenue (contract), its units still count as sold. A day's rows depend on that
    day's orders only: the window replaces its days, so the month-level marts read one row
    per product and day instead of unnesting every order line of the history. -#}
select
    parent.transaction_date,
    item.product_id,
    count(distinct parent.order_id) as orders,
    cast(sum(item.quantity) as {{ type_int() }}) as units,
    cast(sum(case when parent.status = 'completed' then item.line_amount else 0 end)
        as {{ type_money() }}) as net_revenue
from {{ from_unnested(ref('fact_sales'), 'line_items', 'item') }}
where {{ in_window('parent.transaction_date') }} and parent.is_sale
group by parent.transaction_date, item.product_id
