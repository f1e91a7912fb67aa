{#- Customers, buyers and sales by age band × gender × loyalty tier × region, of each
    customer's current version (dim_customers: bands only, never a birth date): every
    combination with a customer. customer_base counts them all; customers, as in every mart,
    those with a sale, whose orders and net revenue come from customer_value (one row per
    customer with a sale, the contract's definitions), so the history of sales is not read
    again. Purchase frequency = orders per customer with a sale; the revenue share is of the
    net revenue of all customers. -#}
with per_group as (
    select
        customers.age_band,
        customers.gender,
        customers.loyalty_tier,
        customers.region,
        count(*) as customer_base,
        count(buyers.customer_id) as customers,
        cast(coalesce(sum(buyers.orders), 0) as {{ type_int() }}) as orders,
        cast(coalesce(sum(buyers.lifetime_net_revenue), 0) as {{ type_money() }}) as net_revenue
    from {{ ref('dim_customers') }} as customers
    left join {{ ref('customer_value') }} as buyers on buyers.customer_id = customers.customer_id
    group by customers.age_band, customers.gender, customers.loyalty_tier, customers.region
)

select
    age_band,
    gender,
    loyalty_tier,
    region,
    customer_base,
    customers,
    orders,
    net_revenue,
    {{ share_of('net_revenue', 'sum(net_revenue) over ()') }} as revenue_share,
    {#- share_of: a division as a double, null when no customer of the group bought -#}
    {{ share_of('orders', 'customers') }} as orders_per_customer
from per_group
