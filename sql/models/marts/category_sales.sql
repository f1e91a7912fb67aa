{#- Net revenue, units and orders per product category and month. A line's category is its
    product's current one (dim_products). Units count every sales order's lines, a
    returned line's revenue nets to zero (contract, as agg_daily_product_sales); orders
    are the distinct sales orders with a line in the category. -#}
with lines as (
    select
        cast({{ dbt.date_trunc('month', 'parent.transaction_date') }} as date) as month,
        parent.order_id,
        parent.status,
        item.product_id,
        item.quantity,
        item.line_amount
    from {{ from_unnested(ref('fact_sales'), 'line_items', 'item') }}
    where {{ all_partitions('parent.transaction_date') }} and parent.is_sale
),

monthly as (
    select
        lines.month,
        products.category,
        count(distinct lines.order_id) as orders,
        cast(sum(lines.quantity) as {{ type_int() }}) as units,
        cast(sum(case when lines.status = 'completed' then lines.line_amount else 0 end)
            as {{ type_money() }}) as net_revenue
    from lines
    inner join {{ ref('dim_products') }} as products on products.product_id = lines.product_id
    group by lines.month, products.category
)

select
    month,
    category,
    orders,
    units,
    net_revenue,
    {{ share_of('net_revenue', 'sum(net_revenue) over (partition by month)') }} as revenue_share_of_month
from monthly
