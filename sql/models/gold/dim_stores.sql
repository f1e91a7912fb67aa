select
    {{ surrogate_key(['store_id']) }} as store_key,
    store_id,
    name as store_name,
    city,
    region,
    opened_on,
    updated_at
from {{ ref('stores') }}
