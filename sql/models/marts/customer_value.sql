{#- One row per customer with a sale: lifetime net spend (the contract's net revenue summed
    over all their sales, as agg_customer_segments.monetary), orders, the value tier and the
    buyer type. The customer-value marts (customer_value_tiers, repeat_customer_revenue,
    top_customers) are built from it, so the history of sales is read once for the three.
    Tiers: High = the top 20 % of customers by spend, Medium = the next 30 %, Low = the rest
    and every customer who spent nothing; equal spend, equal tier (value_tier:
    sql/macros/value_marts.sql). Buyer type: repeat = 2 or more completed orders, one_time =
    exactly 1, returns_only = none (every sale returned). -#}
with per_customer as (
    select
        customer_id,
        count(*) as orders,
        cast(sum(case when status = 'completed' then 1 else 0 end) as {{ type_int() }}) as completed_orders,
        cast(sum(net_revenue) as {{ type_money() }}) as lifetime_net_revenue,
        cast(sum(net_amount) as {{ type_money() }}) as sales_net_amount,
        min(transaction_date) as first_sale_date,
        max(transaction_date) as last_sale_date
    from {{ ref('fact_sales') }}
    where {{ all_partitions('transaction_date') }} and is_sale
    group by customer_id
),

ranked as (
    select
        customer_id,
        orders,
        completed_orders,
        lifetime_net_revenue,
        sales_net_amount,
        first_sale_date,
        last_sale_date,
        rank() over (order by lifetime_net_revenue desc) as spend_rank,
        row_number() over (order by lifetime_net_revenue desc, customer_id asc) as revenue_rank,
        count(*) over () as all_customers
    from per_customer
)

select
    customer_id,
    orders,
    completed_orders,
    lifetime_net_revenue,
    sales_net_amount,
    first_sale_date,
    last_sale_date,
    revenue_rank,
    {{ value_tier('spend_rank', 'all_customers', 'lifetime_net_revenue') }} as value_tier,
    case
        when completed_orders >= 2 then 'repeat'
        when completed_orders = 1 then 'one_time'
        else 'returns_only'
    end as buyer_type
from ranked
