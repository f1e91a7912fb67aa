select
    {{ surrogate_key(['product_id']) }} as product_key,
    product_id,
    sku,
    name as product_name,
    category,
    brand,
    list_price,
    unit_cost,
    updated_at
from {{ ref('products') }}
