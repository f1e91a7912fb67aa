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
    partition's rows are the customers whose current version landed on that day.
    Demographics: the birth date stays in silver (personal data); BI-facing layers see the
    age band on the newest day a customer version landed (silver/customers' newest
    transaction_date, so a rebuild of the same data gives the same bands) and the gender,
    'unknown' when not given. A run also merges the customers whose band that day differs
    from the one held (a birthday crossed a band edge), so no band goes stale. -#}
with as_of as (
    select max(transaction_date) as as_of_date from {{ ref('customers') }}
),

current_customers as (
    select
        {{ surrogate_key(['customer_id']) }} as customer_key,
        customers.customer_id,
        customers.first_name,
        customers.last_name,
        customers.email,
        customers.city,
        customers.region,
        customers.loyalty_tier,
        customers.signup_date,
        {{ age_band('customers.birth_date', 'as_of.as_of_date') }} as age_band,
        coalesce(customers.gender, 'unknown') as gender,
        customers.updated_at,
        customers.transaction_date
    from {{ ref('customers') }} as customers
    cross join as_of
)

select
    customer_key,
    customer_id,
    first_name,
    last_name,
    email,
    city,
    region,
    loyalty_tier,
    signup_date,
    age_band,
    gender,
    updated_at,
    transaction_date
from current_customers
{%- if is_incremental() %}
where customer_id in (
    select customer_id from {{ ref('int_customers__validated') }} where _reject_reason is null
)
{#- A table built before age_band existed fails on_schema_change instead, with what to do
    (one full refresh: docs/operations.md). -#}
{%- if 'age_band' in (held_columns(this) or []) %}
or customer_id in (
    select held.customer_id
    from {{ this }} as held
    inner join current_customers as latest on latest.customer_id = held.customer_id
    where held.age_band <> latest.age_band
)
{%- endif %}
{%- endif %}
