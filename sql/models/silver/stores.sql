{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key='store_id',
    on_schema_change='fail',
    tags=['partitioned'],
) }}

{#- Upsert: a store_id changes only when a newer version arrives, so windows processed
    in any order give the same table. -#}
with arrived as (
    {{ newest_per_key(ref('int_stores__validated'), ['store_id']) }}
),

candidates as (
    select {{ silver_columns('stores') }} from arrived
    {%- if is_incremental() %}
    union all
    select {{ silver_columns('stores') }} from {{ this }}
    where store_id in (select store_id from arrived)
    {%- endif %}
)

select {{ silver_columns('stores') }}
from candidates
where true
qualify row_number() over (
    partition by store_id order by updated_at desc, _source_file, _source_line
) = 1
