{#- Units and net revenue per product and month, ranked within the month. A returned line
    nets to zero revenue (contract), its units still count as sold. -#}
with lines as (
    select
        cast({{ dbt.date_trunc('month', 'parent.transaction_date') }} as date) as month,
        item.product_id,
        item.quantity,
        case when parent.status = 'completed' then item.line_amount else 0 end as net_revenue
    from {{ from_unnested(ref('fact_sales'), 'line_items', 'item') }}
    where {{ all_partitions('parent.transaction_date') }} and parent.is_sale
),

monthly as (
    select
        month,
        product_id,
        sum(quantity) as units,
        cast(sum(net_revenue) as {{ type_money() }}) as net_revenue
    from lines
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
