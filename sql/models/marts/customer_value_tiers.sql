{#- Customers with a sale per value tier (customer_value: High = the top 20 % by lifetime
    net spend, Medium = the next 30 %, Low = the rest and everyone who spent nothing; equal
    spend, equal tier). One row per tier that has customers. -#}
with per_tier as (
    select
        value_tier,
        count(*) as customers,
        cast(sum(lifetime_net_revenue) as {{ type_money() }}) as net_revenue,
        min(lifetime_net_revenue) as min_customer_net_spend,
        max(lifetime_net_revenue) as max_customer_net_spend,
        cast(sum(case when buyer_type = 'repeat' then 1 else 0 end) as {{ type_int() }}) as repeat_customers
    from {{ ref('customer_value') }}
    group by value_tier
)

select
    value_tier,
    cast(case value_tier when 'High' then 1 when 'Medium' then 2 else 3 end as {{ type_int() }})
        as tier_order,
    customers,
    {{ share_of('customers', 'sum(customers) over ()') }} as customer_share,
    net_revenue,
    {{ share_of('net_revenue', 'sum(net_revenue) over ()') }} as revenue_share,
    {{ money_per('net_revenue', 'customers') }} as avg_net_revenue_per_customer,
    min_customer_net_spend,
    max_customer_net_spend,
    repeat_customers
from per_tier
