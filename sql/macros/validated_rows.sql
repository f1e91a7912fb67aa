{#- Raw rows of one entity in the window, typed (the landed values kept as _raw_<column> for
    a reject's payload), each with the first reason it is invalid
    (null when valid). Silver keeps the valid rows; silver/rejects keeps the others.

    checks: (condition on the typed columns, reason) pairs, in priority order, after the
    checks every entity gets: null_key, invalid_<column> (a value that does not cast),
    partition_mismatch, missing_updated_at and missing_<column> for each required column.
    The contract's references (retail_platform/contract.toml, generated into contract.sql)
    are checked last: a key with no valid version in the referenced entity is
    unknown_<column without _id> (unknown_store for store_id; known_key_checks). -#}

{%- macro validated_rows(entity, required=[], checks=[]) -%}
  {%- set spec = contract_entities()[entity] -%}
  {%- set checks = checks + known_key_checks(entity, spec.get('references', [])) -%}
  {%- set raw_columns = spec['columns'] | map(attribute=0) | list -%}
with landed as (
    {#- The columns named, not *: the BigQuery emulator types a query's tables by their bare
        name, so `*` of retail_raw.orders expanded to retail_silver.orders' columns in
        silver/rejects, which reads both (the references, known_key_checks). -#}
    select
        {%- for column in raw_columns %}
        raw_rows.{{ column }},
        {%- endfor %}
        raw_rows._partition_date,
        raw_rows._source_file,
        raw_rows._source_line,
        raw_rows._ingested_at
    from {{ source('retail_raw', entity) }} as raw_rows
    where {{ in_window_datetime('raw_rows._partition_date') }}
),

typed as (
    select
        {%- for column, kind in spec['columns'] %}
        {{ typed_column('landed.' ~ column, kind) }} as {{ column }},
        {%- endfor %}
        {%- for column in raw_columns %}
        landed.{{ column }} as _raw_{{ column }},
        {%- endfor %}
        cast(landed._partition_date as date) as _partition_date,
        landed._source_file,
        landed._source_line,
        landed._ingested_at,
        case
            {%- for column in spec['key'] %}
            when landed.{{ column }} is null then 'null_key'
            {%- endfor %}
            {%- for column, kind in spec['columns'] if kind != 'string' %}
            when landed.{{ column }} is not null and {{ typed_column('landed.' ~ column, kind) }} is null
                then 'invalid_{{ column }}'
            {%- endfor %}
            when {{ try_cast('landed.transaction_date', 'date') }}
                <> cast(landed._partition_date as date)
                then 'partition_mismatch'
            when landed.updated_at is null then 'missing_updated_at'
            {%- for column in required %}
            when landed.{{ column }} is null then 'missing_{{ column }}'
            {%- endfor %}
        end as _cast_failure
    from landed
),

checked as (
    select
        *,
        coalesce(
            _cast_failure,
            case
                {%- for condition, reason in checks %}
                when {{ condition }} then '{{ reason }}'
                {%- endfor %}
                when false then null
            end
        ) as _reject_reason
    from typed
)

{#- The landed values as JSON, built for rejected rows only. Built for every row, it was
    most of silver/rejects over a year's window: 29-47 s against 19-22 s now, the same
    rows (two runs each, under load; docs/performance.md). -#}
select
    *,
    case when _reject_reason is not null
        then {{ json_payload(raw_columns, 'checked', prefix='_raw_') }} end as _payload
from checked
{%- endmacro -%}


{#- Keep the newest version per natural key; count the other valid rows of the key on the
    kept row's own day (older versions, exact duplicates): a count that does not depend on
    which days a run covered. -#}
{%- macro newest_per_key(relation, key) -%}
select
    *,
    count(*) over (partition by {{ (key + ['_partition_date']) | unique | join(', ') }}) - 1
        as _duplicates_removed
from {{ relation }}
where _reject_reason is null
qualify row_number() over (
    partition by {{ key | join(', ') }}
    order by updated_at desc, _source_file, _source_line
) = 1
{%- endmacro -%}


{#- A fact entity's silver rows for the run's days: the newest valid version per natural
    key among the raw rows of those days, unless the key lives in silver on a day outside
    them. The run's days include every day silver holds a key of the window's files on
    (defs/transforms/rebuild_days.py), so a key re-dated by a newer version moves to its new
    day, and re-running an old day never brings an older version back: the table is the
    same however the days were run. -#}
{%- macro newest_valid_facts(entity, key) -%}
select {{ silver_columns(entity) }}
from ({{ newest_per_key(ref('int_' ~ entity ~ '__validated'), key) }}) as newest
{%- if is_incremental() and 'transaction_date' not in key %}
where not exists (
    select 1 from {{ this }} as elsewhere
    where {% for column in key %}elsewhere.{{ column }} = newest.{{ column }} and {% endfor -%}
    not ({{ in_window('elsewhere.transaction_date') }})
)
{%- endif %}
{%- endmacro -%}


{#- The silver columns of an entity: the contract's, then lineage. Facts also keep
    _duplicates_removed (for the reconciliation raw = silver + rejects + duplicates);
    dimensions, merged across windows, do not. held: the columns the table read holds, when
    it may predate a column added to the contract (null until the run adds it;
    schema_changes.sql). -#}
{%- macro silver_columns(entity, held=none) -%}
  {%- for column, kind in contract_entities()[entity]['columns'] -%}
    {{ column if held is none or column in held else 'null as ' ~ column }},
  {% endfor -%}
  _source_file, _source_line, _ingested_at
  {%- if entity not in dimension_entities() %}, _duplicates_removed{% endif %}
{%- endmacro -%}


{#- The unknown_<entity> checks of `entity`'s rows (contract: "Validation, versions and
    integrity"): the key must have a *valid* version in the referenced entity, any partition
    (a customer, product, store or employee of silver's merged dimension; an order of
    silver/orders, every day). ref() builds the referenced silver model before this entity's
    in the same dbt run, so a valid key of the run's own window is there already (what the
    referenced model just wrote for those days; a key whose valid version lives on another
    day is there on that day). A row rejected because its key had no valid version yet is
    re-validated by the run that loads one: defs/transforms/rebuild_days.py adds the row's
    day to that run (and, for a payment or shipment, the day of one whose order was itself
    waiting for its customer or store). So once every day has run the result is the same
    whatever the order, and no fact names a key its dimension or fact_sales lacks, on any
    run (the relationships tests of gold).

    The reference is only the keys that the window's rows of `entity` name: a daily join
    then builds on a few thousand keys instead of the whole history's (at a year, rejects
    1.0 -> 0.4 s). It reads the entity's raw window itself rather than validated_rows'
    `landed`: a second reference to that CTE makes DuckDB materialize it with every
    column, which cost a year's backfill ~70 s in its partitioned dbt step (227 -> 155 s,
    docs/performance.md). -#}
{%- macro known_key_checks(entity, references) -%}
  {%- set found = [] -%}
  {%- for referenced, column in references -%}
    {#- every column qualified: see `landed` in validated_rows (the emulator) -#}
    {%- set known -%}
      select valid_keys.{{ column }} from {{ ref(referenced) }} as valid_keys
      where valid_keys.{{ column }} in (
          select window_rows.{{ column }} from {{ source('retail_raw', entity) }} as window_rows
          where {{ in_window_datetime('window_rows._partition_date') }}
      )
    {%- endset -%}
    {%- do found.append((column ~ " not in (" ~ known ~ ")", 'unknown_' ~ column[:-3])) -%}
  {%- endfor -%}
  {{ return(found) }}
{%- endmacro -%}


{#- A dimension upsert: the window's newest version per key, compared with the row already
    there for that key; the newest wins. With the merge strategy on unique_key, a row
    changes only when a newer version arrives, whatever order windows are processed in. -#}
{%- macro upserted_dimension(entity, key) -%}
with arrived as (
    {{ newest_per_key(ref('int_' ~ entity ~ '__validated'), [key]) }}
),

candidates as (
    select {{ silver_columns(entity) }} from arrived
    {%- if is_incremental() %}
    union all
    select {{ silver_columns(entity, held=held_columns(this)) }} from {{ this }}
    where {{ key }} in (select {{ key }} from arrived)
    {%- endif %}
)

select {{ silver_columns(entity) }}
from candidates
where true
qualify row_number() over (
    partition by {{ key }} order by updated_at desc, _source_file, _source_line
) = 1
{%- endmacro -%}


{#- The columns an existing relation holds, lower case; none while dbt parses. -#}
{%- macro held_columns(relation) -%}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {{ return(adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list) }}
{%- endmacro -%}


{#- A landed text column cast to its contract type (retail_platform/contract.toml: string,
    int, decimal, rate, date, timestamp, bool); null when the value does not cast. -#}
{%- macro typed_column(column, kind) -%}
  {%- if kind == 'string' -%} {{ column }}
  {%- elif kind == 'int' -%} {{ try_cast(column, type_int()) }}
  {%- elif kind == 'decimal' -%} {{ try_cast(column, type_money()) }}
  {%- elif kind == 'rate' -%} {{ try_cast(column, type_rate()) }}
  {%- elif kind == 'date' -%} {{ try_cast(column, 'date') }}
  {%- elif kind == 'timestamp' -%} {{ try_cast(column, 'timestamp') }}
  {%- elif kind == 'bool' -%} {{ try_cast(column, type_bool()) }}
  {%- else -%} {{ exceptions.raise_compiler_error("unknown contract type " ~ kind) }}
  {%- endif -%}
{%- endmacro -%}
