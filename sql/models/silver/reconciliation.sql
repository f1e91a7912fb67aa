{{ config(tags=['partitioned'], **window_replace_config()) }}

{#- Per fact entity and day of the run: every raw row is the silver row of its key, a
    reject, or a valid row superseded by another version of its key (newer, or an exact
    duplicate) that silver keeps, on this day or another. unexplained_rows must be 0: a
    valid raw row whose key silver does not hold at all is lost; a silver row that no raw
    row of its day explains is extra.

    duplicates_removed (the superseded rows) is counted from the rows themselves, so it
    is independent of how silver chose the winner. A table of the run's days, not a view:
    the check reads one day of it, and on BigQuery a filter on a view's
    cast(_partition_date as date) need not reach raw's partitions. -#}
{%- set facts = fact_entities() %}

with
{%- for entity in facts %}
{%- set spec = contract_entities()[entity] %}
{%- set kinds = dict(spec['columns']) %}
raw_{{ entity }} as (
    select
        cast(_partition_date as date) as transaction_date,
        _source_file,
        _source_line,
        {%- for column in spec['key'] %}
        {{ typed_column('landed.' ~ column, kinds[column]) }} as key_{{ loop.index }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ source('retail_raw', entity) }} as landed
    where {{ in_window_datetime('_partition_date') }}
),

superseded_{{ entity }} as (
    select raw.transaction_date, count(*) as superseded_rows
    from raw_{{ entity }} as raw
    inner join {{ ref(entity) }} as kept
        on {% for column in spec['key'] %}kept.{{ column }} = raw.key_{{ loop.index }}{{ " and " if not loop.last }}{% endfor %}
    where not (kept._source_file = raw._source_file and kept._source_line = raw._source_line)
        and not exists (
            select 1 from {{ ref('rejects') }} as rejected
            where rejected.entity = '{{ entity }}'
                and rejected.source_file = raw._source_file
                and rejected.source_line = raw._source_line
                and {{ in_window('rejected.transaction_date') }}
        )
    group by raw.transaction_date
),
{%- endfor %}

raw_rows as (
    {%- for entity in facts %}
    select '{{ entity }}' as entity, transaction_date, count(*) as raw_rows
    from raw_{{ entity }}
    group by transaction_date
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

silver_rows as (
    {%- for entity in facts %}
    select '{{ entity }}' as entity, transaction_date, count(*) as silver_rows
    from {{ ref(entity) }}
    where {{ in_window('transaction_date') }}
    group by transaction_date
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

superseded_rows as (
    {%- for entity in facts %}
    select '{{ entity }}' as entity, transaction_date, superseded_rows
    from superseded_{{ entity }}
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
    coalesce(superseded_rows.superseded_rows, 0) as duplicates_removed,
    coalesce(rejected_rows.rejected_rows, 0) as rejected_rows,
    raw_rows.raw_rows
        - coalesce(silver_rows.silver_rows, 0)
        - coalesce(superseded_rows.superseded_rows, 0)
        - coalesce(rejected_rows.rejected_rows, 0) as unexplained_rows
from raw_rows
left join silver_rows
    on silver_rows.entity = raw_rows.entity
    and silver_rows.transaction_date = raw_rows.transaction_date
left join superseded_rows
    on superseded_rows.entity = raw_rows.entity
    and superseded_rows.transaction_date = raw_rows.transaction_date
left join rejected_rows
    on rejected_rows.entity = raw_rows.entity
    and rejected_rows.transaction_date = raw_rows.transaction_date
