{#- Stock per store and product (contract): every pair with a valid inventory row in the 7
    days up to the newest inventory day, its values from the pair's latest valid day
    (as_of_date), so a pair whose newest row was rejected shows its day before instead of
    vanishing; days of cover at the average daily units sold over the 28 days up to that
    day. The orders of the 34 days that can count are selected before their lines are
    unnested: unnesting the whole history first and filtering the lines afterwards is two
    orders of magnitude slower on a year (docs/performance.md). -#}
with latest_day as (
    select max(transaction_date) as newest_day
    from {{ ref('fact_inventory') }}
    where {{ all_partitions('transaction_date') }}
),

stock as (
    select inventory.*
    from {{ ref('fact_inventory') }} as inventory
    where {{ all_partitions('inventory.transaction_date') }}
        and inventory.transaction_date > (select {{ dbt.dateadd('day', -7, 'newest_day') }} from latest_day)
        and inventory.transaction_date <= (select newest_day from latest_day)
    qualify row_number() over (
        partition by inventory.store_id, inventory.product_id
        order by inventory.transaction_date desc
    ) = 1
),

recent_orders as (
    select store_id, transaction_date, line_items
    from {{ ref('fact_sales') }}
    where {{ all_partitions('transaction_date') }}
        and is_sale
        and transaction_date > (select {{ dbt.dateadd('day', -35, 'newest_day') }} from latest_day)
        and transaction_date <= (select newest_day from latest_day)
),

daily_units as (
    select parent.store_id, parent.transaction_date, item.product_id, sum(item.quantity) as units
    from {{ from_unnested('recent_orders', 'line_items', 'item') }}
    group by parent.store_id, parent.transaction_date, item.product_id
),

recent_sales as (
    select stock.store_id, stock.product_id, sum(daily_units.units) / 28.0 as avg_daily_units
    from stock
    inner join daily_units
        on daily_units.store_id = stock.store_id
        and daily_units.product_id = stock.product_id
        and daily_units.transaction_date > {{ dbt.dateadd('day', -28, 'stock.transaction_date') }}
        and daily_units.transaction_date <= stock.transaction_date
    group by stock.store_id, stock.product_id
)

select
    stock.store_id,
    stock.product_id,
    stock.transaction_date as as_of_date,
    stock.on_hand,
    stock.reorder_point,
    recent_sales.avg_daily_units,
    case when recent_sales.avg_daily_units > 0
        then stock.on_hand / recent_sales.avg_daily_units end as days_of_cover,
    stock.below_reorder_point
from stock
left join recent_sales
    on recent_sales.store_id = stock.store_id and recent_sales.product_id = stock.product_id
