{#- Sales by the customer's city (of the customer's current version, dim_customers): every
    city with a sale; the dashboard shows the top 10. Summed from customer_value (one row
    per customer with a sale), so the history of sales is not read again: orders, net
    revenue and the average order value's numerator add up over a city's customers. -#}
with per_city as (
    select
        customers.city,
        customers.region,
        cast(sum(buyers.orders) as {{ type_int() }}) as orders,
        count(*) as customers,
        cast(sum(buyers.lifetime_net_revenue) as {{ type_money() }}) as net_revenue,
        {{ money_per('sum(buyers.sales_net_amount)', 'sum(buyers.orders)') }} as avg_order_value
    from {{ ref('customer_value') }} as buyers
    inner join {{ ref('dim_customers') }} as customers on customers.customer_id = buyers.customer_id
    group by customers.city, customers.region
)

select
    city,
    region,
    orders,
    customers,
    net_revenue,
    {{ share_of('net_revenue', 'sum(net_revenue) over ()') }} as revenue_share,
    avg_order_value,
    rank() over (order by net_revenue desc) as revenue_rank
from per_city
