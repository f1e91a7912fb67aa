select
    {{ surrogate_key(['employee_id']) }} as employee_key,
    employee_id,
    {{ surrogate_key(['store_id']) }} as store_key,
    store_id,
    full_name,
    role,
    hired_on,
    updated_at
from {{ ref('employees') }}
