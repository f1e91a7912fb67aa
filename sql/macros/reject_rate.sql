{#- A bad day is never green: per day of the run's window, the share of the entity's landed
    (raw) rows that validation rejected is at most var('max_reject_rate') (dbt_project.yml;
    `dbt build --vars '{"max_reject_rate": 0.1}'` for one run). On a day above it the test
    returns that day's top reasons (at most five), each with its count, the day's totals
    and three example rows (natural key, landing file:line, the payload as landed).

    It reads silver/rejects and the entity's raw window, so it runs after both; dbt holds
    back only the models that descend from everything a test reads (dbt-core's
    add_test_edges), so a failing test (severity error) skips gold, which waits for
    silver/rejects (`depends_on` in each gold fact), and never the rest of silver: the
    day's rejects and its other entities are written, for the user to read and for a later
    run to re-validate (defs/transforms/rebuild_days.py reads silver/rejects).

    The failing rows are stored (store_failures) in retail_audit.<test name>, replaced by
    each run of the test; Dagster shows them on the check (defs/transforms/assets.py). -#}
{% test reject_rate_within_threshold(model, entity, max_rate=none) %}
{{ config(severity='error', store_failures=true, schema='retail_audit') }}
{%- set threshold = max_rate if max_rate is not none else max_reject_rate() -%}
with landed as (
    select cast(_partition_date as date) as transaction_date, count(*) as landed_rows
    from {{ source('retail_raw', entity) }}
    where {{ in_window_datetime('_partition_date') }}
    group by 1
),

rejected_rows as (
    select transaction_date, reason, natural_key, source_file, source_line, payload
    from {{ ref('rejects') }}
    where entity = '{{ entity }}' and {{ in_window('transaction_date') }}
),

days as (
    select
        landed.transaction_date,
        landed.landed_rows,
        count(rejected_rows.reason) as rejected_rows
    from landed
    left join rejected_rows on rejected_rows.transaction_date = landed.transaction_date
    group by landed.transaction_date, landed.landed_rows
),

bad_days as (
    select transaction_date, landed_rows, rejected_rows
    from days
    where rejected_rows > {{ threshold }} * landed_rows
),

rejected as (
    select rejected_rows.*
    from rejected_rows
    inner join bad_days on bad_days.transaction_date = rejected_rows.transaction_date
),

reasons as (
    select
        transaction_date,
        reason,
        count(*) as rows_with_reason,
        row_number() over (
            partition by transaction_date order by count(*) desc, reason
        ) as reason_rank
    from rejected
    group by transaction_date, reason
),

examples as (
    select
        transaction_date,
        reason,
        concat(
            natural_key, ' @ ', source_file, ':', cast(source_line as {{ type_text() }}),
            ' ', coalesce(cast(payload as {{ type_text() }}), '')
        ) as example,
        row_number() over (
            partition by transaction_date, reason order by source_file, source_line
        ) as example_number
    from rejected
)

select
    bad_days.transaction_date,
    '{{ entity }}' as entity,
    reasons.reason,
    reasons.rows_with_reason,
    bad_days.rejected_rows,
    bad_days.landed_rows,
    round(bad_days.rejected_rows / bad_days.landed_rows, 4) as reject_rate,
    {{ threshold }} as max_reject_rate,
    {%- for number in range(1, 4) %}
    example_{{ number }}.example as example_{{ number }}{{ "," if not loop.last }}
    {%- endfor %}
from bad_days
inner join reasons
    on reasons.transaction_date = bad_days.transaction_date
    and reasons.reason_rank <= 5
{%- for number in range(1, 4) %}
left join examples as example_{{ number }}
    on example_{{ number }}.transaction_date = reasons.transaction_date
    and example_{{ number }}.reason = reasons.reason
    and example_{{ number }}.example_number = {{ number }}
{%- endfor %}
{% endtest %}


{#- The threshold: RETAIL_MAX_REJECT_RATE when set (the dbt step sets it from the run tag
    retail/max_reject_rate), else var('max_reject_rate'). Read only when the test executes,
    like the window (window.sql): a value read while parsing would make dbt re-parse. -#}
{%- macro max_reject_rate() -%}
  {%- set value = (env_var('RETAIL_MAX_REJECT_RATE', '') if execute else '') | string | trim -%}
  {%- set value = value if value else var('max_reject_rate') | string -%}
  {%- if not modules.re.match('^(0([.][0-9]+)?|1([.]0+)?|[.][0-9]+)$', value) -%}
    {{ exceptions.raise_compiler_error("max_reject_rate (RETAIL_MAX_REJECT_RATE) must be a number from 0 to 1, got " ~ value) }}
  {%- endif -%}
  {{ return(value | float) }}
{%- endmacro -%}
