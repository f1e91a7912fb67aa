{#- The 10 customers with the most lifetime net spend (customer_value.revenue_rank: ties
    broken by customer_id, so exactly 10, or fewer if fewer customers have a sale). Only
    what BI may see of a customer: no name or e-mail (PII stays in gold). -#}
with ranked as (
    select
        customer_id,
        orders,
        completed_orders,
        lifetime_net_revenue,
        first_sale_date,
        last_sale_date,
        revenue_rank,
        {{ share_of('lifetime_net_revenue', 'sum(lifetime_net_revenue) over ()') }} as revenue_share
    from {{ ref('customer_value') }}
)

select
    ranked.revenue_rank,
    ranked.customer_id,
    customers.city,
    customers.region,
    customers.loyalty_tier,
    customers.signup_date,
    ranked.orders,
    ranked.completed_orders,
    ranked.lifetime_net_revenue as net_revenue,
    ranked.revenue_share,
    ranked.first_sale_date,
    ranked.last_sale_date
from ranked
left join {{ ref('dim_customers') }} as customers on customers.customer_id = ranked.customer_id
where ranked.revenue_rank <= 10
