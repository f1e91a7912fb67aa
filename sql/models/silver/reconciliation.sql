{{ config(
    materialized='incremental',
    on_schema_change='fail',
    tags=['partitioned'],
    **window_replace_config()
) }}

{#- Per fact entity and day of the window: every raw row is a silver row, a reject, or a
    duplicate removed in favour of a silver row. unexplained_rows must be 0.

    A table of the window's days, not a view: the check reads one day of it, and on
    BigQuery a filter on a view's cast(_partition_date as date) need not reach raw's
    partitions (a view read whole costs ~0.5 GB a check at a year). -#}
{%- set facts = ['orders', 'order_items', 'payments', 'shipments', 'inventory'] %}

with raw_rows as (
    {%- for entity in facts %}
    select
        '{{ entity }}' as entity,
        cast(_partition_date as date) as transaction_date,
        count(*) as raw_rows
    from {{ source('retail_raw', entity) }}
    where {{ in_window_datetime('_partition_date') }}
    group by cast(_partition_date as date)
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

silver_rows as (
    {%- for entity in facts %}
    select
        '{{ entity }}' as entity,
        transaction_date,
        count(*) as silver_rows,
        sum(_duplicates_removed) as duplicates_removed
    from {{ ref(entity) }}
    where {{ in_window('transaction_date') }}
    group by transaction_date
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

rejected_rows as (
    select entity, transaction_date, count(*) as rejected_rows
    from {{ ref('rejects') }}
    where {{ in_window('transaction_date') }}
    group by entity, transaction_date
)

select
    raw_rows.entity,
    raw_rows.transaction_date,
    raw_rows.raw_rows,
    coalesce(silver_rows.silver_rows, 0) as silver_rows,
    coalesce(silver_rows.duplicates_removed, 0) as duplicates_removed,
    coalesce(rejected_rows.rejected_rows, 0) as rejected_rows,
    raw_rows.raw_rows
        - coalesce(silver_rows.silver_rows, 0)
        - coalesce(silver_rows.duplicates_removed, 0)
        - coalesce(rejected_rows.rejected_rows, 0) as unexplained_rows
from raw_rows
left join silver_rows
    on silver_rows.entity = raw_rows.entity
    and silver_rows.transaction_date = raw_rows.transaction_date
left join rejected_rows
    on rejected_rows.entity = raw_rows.entity
    and rejected_rows.transaction_date = raw_rows.transaction_date
