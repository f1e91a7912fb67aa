{#- The history the sales forecast learns from: net revenue per day and store, and of all
    stores together (store_id 'all_stores'), every day from the first to the last day
    with sales, for every store that sold: a day a store sold nothing counts 0. Net
    revenue is the contract's (agg_daily_sales: completed sales' net amount). -#}
with sales as (
    select
        transaction_date,
        store_id,
        net_revenue
    from {{ ref('agg_daily_sales') }}
    where {{ all_partitions('transaction_date') }}
),

bounds as (
    select
        min(transaction_date) as first_day,
        max(transaction_date) as last_day
    from sales
),

days as (
    select dates.date_day as transaction_date
    from {{ ref('dim_dates') }} as dates
    inner join bounds
        on dates.date_day between bounds.first_day and bounds.last_day
),

stores as (
    select distinct store_id from sales
),

per_store as (
    select
        days.transaction_date,
        stores.store_id,
        coalesce(sales.net_revenue, 0) as net_revenue
    from days
    cross join stores
    left join sales
        on
            sales.transaction_date = days.transaction_date
            and sales.store_id = stores.store_id
)

select
    transaction_date,
    store_id,
    cast(net_revenue as {{ type_money() }}) as net_revenue
from per_store
union all
select
    transaction_date,
    'all_stores' as store_id,
    cast(sum(net_revenue) as {{ type_money() }}) as net_revenue
from per_store
group by transaction_date
