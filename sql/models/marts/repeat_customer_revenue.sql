{#- Repeat against one-time buyers among the customers with a sale (customer_value: repeat
    = 2 or more completed orders, one_time = exactly 1, returns_only = every sale returned).
    avg_revenue_vs_one_time is a type's average net revenue per customer over the one-time
    buyers': "repeat customers bring N x the revenue of one-time buyers". -#}
with per_type as (
    select
        buyer_type,
        count(*) as customers,
        cast(sum(lifetime_net_revenue) as {{ type_money() }}) as net_revenue
    from {{ ref('customer_value') }}
    group by buyer_type
),

one_time as (
    select
        cast(sum(case when buyer_type = 'one_time' then customers end) as {{ type_int() }}) as customers,
        cast(sum(case when buyer_type = 'one_time' then net_revenue end) as {{ type_money() }}) as net_revenue
    from per_type
)

select
    per_type.buyer_type,
    cast(case per_type.buyer_type when 'repeat' then 1 when 'one_time' then 2 else 3 end
        as {{ type_int() }}) as type_order,
    per_type.customers,
    {{ share_of('per_type.customers', 'sum(per_type.customers) over ()') }} as customer_share,
    per_type.net_revenue,
    {{ share_of('per_type.net_revenue', 'sum(per_type.net_revenue) over ()') }} as revenue_share,
    {{ money_per('per_type.net_revenue', 'per_type.customers') }} as avg_net_revenue_per_customer,
    {#- (revenue / customers) / (one-time revenue / one-time customers), one division -#}
    {{ share_of('per_type.net_revenue * one_time.customers', 'per_type.customers * one_time.net_revenue') }}
        as avg_revenue_vs_one_time
from per_type
cross join one_time
