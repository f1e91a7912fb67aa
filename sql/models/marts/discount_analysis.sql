{#- Order lines of sales orders by discount depth (discount_band: sql/macros/value_marts.sql):
    units, revenue and margin. Revenue and margin count completed orders only (a returned
    order gives the money back and the goods come back: contract); units count every sales
    order's lines, as everywhere. Cost is quantity x the product's current unit_cost
    (dim_products; no cost history is landed). No count of distinct orders: an order's
    lines fall in several bands, and a distinct count over every line of the history is
    what would make this model slow (docs/performance.md). -#}
with lines as (
    select
        parent.status,
        item.product_id,
        item.quantity,
        item.discount_rate,
        item.gross_amount,
        item.line_amount
    from {{ from_unnested(ref('fact_sales'), 'line_items', 'item') }}
    where {{ all_partitions('parent.transaction_date') }} and parent.is_sale
),

banded as (
    select
        lines.quantity,
        {{ discount_band('lines.discount_rate') }} as discount_band,
        {{ discount_band_order('lines.discount_rate') }} as band_order,
        case when lines.status = 'completed' then lines.gross_amount else 0 end as gross_amount,
        case when lines.status = 'completed' then lines.line_amount else 0 end as net_amount,
        case when lines.status = 'completed' then lines.quantity * products.unit_cost else 0 end as cost
    from lines
    inner join {{ ref('dim_products') }} as products on products.product_id = lines.product_id
),

per_band as (
    select
        discount_band,
        band_order,
        count(*) as order_lines,
        cast(sum(quantity) as {{ type_int() }}) as units,
        cast(sum(gross_amount) as {{ type_money() }}) as gross_revenue,
        cast(sum(net_amount) as {{ type_money() }}) as net_revenue,
        cast(sum(cost) as {{ type_money() }}) as cost_of_goods
    from banded
    group by discount_band, band_order
)

select
    discount_band,
    band_order,
    order_lines,
    units,
    {{ share_of('units', 'sum(units) over ()') }} as unit_share,
    gross_revenue,
    cast(gross_revenue - net_revenue as {{ type_money() }}) as discount_amount,
    net_revenue,
    {{ share_of('net_revenue', 'sum(net_revenue) over ()') }} as revenue_share,
    cost_of_goods,
    cast(net_revenue - cost_of_goods as {{ type_money() }}) as gross_margin,
    {{ share_of('net_revenue - cost_of_goods', 'net_revenue') }} as margin_rate
from per_band
