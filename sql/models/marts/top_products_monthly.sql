{#- Units and net revenue per product and month, ranked within the month: the month's days
    of agg_daily_product_sales (one row per product and day), so a run reads days × products
    rows, not every order line of the history. -#}
with daily as (
    select
        cast({{ dbt.date_trunc('month', 'transaction_date') }} as date) as month,
        product_id,
        units,
        net_revenue
    from {{ ref('agg_daily_product_sales') }}
    where {{ all_partitions('transaction_date') }}
),

monthly as (
    select
        month,
        product_id,
        cast(sum(units) as {{ type_int() }}) as units,
        cast(sum(net_revenue) as {{ type_money() }}) as net_revenue
    from daily
    group by month, product_id
)

select
    monthly.month,
    monthly.product_id,
    products.product_name,
    products.category,
    monthly.units,
    monthly.net_revenue,
    rank() over (partition by monthly.month order by monthly.net_revenue desc) as rank_in_month
from monthly
left join {{ ref('dim_products') }} as products on products.product_id = monthly.product_id
