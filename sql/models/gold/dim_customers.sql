select
    {{ surrogate_key(['customer_id']) }} as customer_key,
    customer_id,
    first_name,
    last_name,
    email,
    city,
    region,
    loyalty_tier,
    signup_date,
    updated_at
from {{ ref('customers') }}
