{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key='product_id',
    on_schema_change='fail',
    tags=['partitioned'],
) }}

{#- Upsert: a product_id changes only when a newer version arrives, so windows processed
    in any order give the same table. -#}
with arrived as (
    {{ newest_per_key(ref('int_products__validated'), ['product_id']) }}
),

candidates as (
    select {{ silver_columns('products') }} from arrived
    {%- if is_incremental() %}
    union all
    select {{ silver_columns('products') }} from {{ this }}
    where product_id in (select product_id from arrived)
    {%- endif %}
)

select {{ silver_columns('products') }}
from candidates
where true
qualify row_number() over (
    partition by product_id order by updated_at desc, _source_file, _source_line
) = 1
