{#- Stock on the latest day per store and product, with days of cover at the average
    daily units sold over the 28 days up to that day. -#}
with latest_day as (
    select max(transaction_date) as as_of_date
    from {{ ref('fact_inventory') }}
    where {{ all_partitions('transaction_date') }}
),

stock as (
    select inventory.*
    from {{ ref('fact_inventory') }} as inventory
    cross join latest_day
    where {{ all_partitions('inventory.transaction_date') }}
        and inventory.transaction_date = latest_day.as_of_date
),

recent_sales as (
    select parent.store_id, item.product_id, sum(item.quantity) / 28.0 as avg_daily_units
    from {{ from_unnested(ref('fact_sales'), 'line_items', 'item') }}
    cross join latest_day
    where {{ all_partitions('parent.transaction_date') }}
        and parent.is_sale
        and parent.transaction_date > {{ dbt.dateadd('day', -28, 'latest_day.as_of_date') }}
        and parent.transaction_date <= latest_day.as_of_date
    group by parent.store_id, item.product_id
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
