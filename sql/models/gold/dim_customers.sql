-- depends_on: {{ ref('int_customers__validated') }}
{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key='customer_id',
    on_schema_change='fail',
    tags=['partitioned'],
) }}

{#- The current version of every customer. A run merges the customers its window upserted
    into silver (the window's valid arrivals), so a day costs that day's customers, not the
    whole dimension; a full refresh rebuilds it from silver. transaction_date is the day of
    the current version, the partition a customer belongs to, as in silver/customers: a
    partition's rows are the customers whose current version landed on that day. -#}
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
    updated_at,
    transaction_date
from {{ ref('customers') }}
{%- if is_incremental() %}
where customer_id in (
    select customer_id from {{ ref('int_customers__validated') }} where _reject_reason is null
)
{%- endif %}
