{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key='employee_id',
    on_schema_change='fail',
    tags=['partitioned'],
) }}

{#- Upsert: a employee_id changes only when a newer version arrives, so windows processed
    in any order give the same table. -#}
with arrived as (
    {{ newest_per_key(ref('int_employees__validated'), ['employee_id']) }}
),

candidates as (
    select {{ silver_columns('employees') }} from arrived
    {%- if is_incremental() %}
    union all
    select {{ silver_columns('employees') }} from {{ this }}
    where employee_id in (select employee_id from arrived)
    {%- endif %}
)

select {{ silver_columns('employees') }}
from candidates
where true
qualify row_number() over (
    partition by employee_id order by updated_at desc, _source_file, _source_line
) = 1
