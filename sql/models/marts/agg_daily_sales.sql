{{ config(
    materialized='incremental',
    on_schema_change='fail',
    tags=['partitioned'],
    **window_replace_config(cluster_by=['store_id'])
) }}

{#- Sales per day and store, by the contract's metric definitions. A day's rows depend on
    that day's sales only: the window replaces its days, in the partitioned dbt step. -#}
select
    transaction_date,
    store_id,
    cast(sum(case when is_sale then 1 else 0 end) as {{ type_int() }}) as orders,
    count(distinct case when is_sale then customer_id end) as customers,
    cast(sum(case when is_sale then units else 0 end) as {{ type_int() }}) as items_sold,
    cast(sum(case when is_sale then gross_amount else 0 end) as {{ type_money() }}) as gross_revenue,
    cast(sum(net_revenue) as {{ type_money() }}) as net_revenue,
    {{ money_per(
        'sum(case when is_sale then net_amount else 0 end)',
        'nullif(sum(case when is_sale then 1 else 0 end), 0)'
    ) }} as avg_order_value
from {{ ref('fact_sales') }}
where {{ in_window('transaction_date') }}
group by transaction_date, store_id
