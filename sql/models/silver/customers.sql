{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key='customer_id',
    on_schema_change='fail',
    tags=['partitioned'],
) }}

{#- Upsert: a customer_id changes only when a newer version arrives, so windows processed
    in any order give the same table. -#}
with arrived as (
    {{ newest_per_key(ref('int_customers__validated'), ['customer_id']) }}
),

candidates as (
    select {{ silver_columns('customers') }} from arrived
    {%- if is_incremental() %}
    union all
    select {{ silver_columns('customers') }} from {{ this }}
    where customer_id in (select customer_id from arrived)
    {%- endif %}
)

select {{ silver_columns('customers') }}
from candidates
where true
qualify row_number() over (
    partition by customer_id order by updated_at desc, _source_file, _source_line
) = 1
