{{ config(materialized='view') }}  {#- a view over agg_daily_sales and dim_stores, as its name says -#}
{#- The executive view: daily sales per store with region, against the same weekday last week. -#}
with daily as (
    select * from {{ ref('agg_daily_sales') }}
)

select
    daily.transaction_date,
    daily.store_id,
    stores.store_name,
    stores.region,
    daily.orders,
    daily.customers,
    daily.items_sold,
    daily.net_revenue,
    daily.avg_order_value,
    last_week.net_revenue as net_revenue_same_day_last_week,
    {#- a ratio, a float on both engines (BigQuery divides NUMERICs exactly, DuckDB in floats) -#}
    case when last_week.net_revenue <> 0
        then cast((daily.net_revenue - last_week.net_revenue) / last_week.net_revenue as {{ type_double() }})
    end as net_revenue_wow_change
from daily
left join {{ ref('dim_stores') }} as stores on stores.store_id = daily.store_id
left join daily as last_week
    on last_week.store_id = daily.store_id
    and last_week.transaction_date = {{ dbt.dateadd('day', -7, 'daily.transaction_date') }}
