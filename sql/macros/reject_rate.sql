{#- A bad day is never green: per day of the run's window, the share of the entity's landed
    (raw) rows that validation rejected is at most var('max_reject_rate') (dbt_project.yml;
    `dbt build --vars '{"max_reject_rate": 0.1}'` for one run). On a day above it the test
    returns that day's top reasons (at most five), each with its count, the day's totals
    and three example rows (natural key, landing file:line, the payload as landed).

    It reads the entity's validated rows (int_<entity>__validated: every raw row of the
    window with its reject reason; silver/rejects holds exactly those with a reason), not
    silver/rejects: dbt holds back a model's dependents on a failing test only when they
    descend from everything the test reads, and gold does not descend from silver/rejects.
    Read this way, a failing test (severity error) skips gold for the run.

    The failing rows are stored (store_failures) in retail_audit.<test name>, replaced by
    each run of the test; Dagster shows them on the check (defs/transforms/assets.py). -#}
{% test reject_rate_within_threshold(model, entity, max_rate=none) %}
{{ config(severity='error', store_failures=true, schema='retail_audit') }}
{%- set threshold = (max_rate if max_rate is not none else var('max_reject_rate')) | float -%}
{%- set spec = contract_entities()[entity] -%}
with validated as (
    select
        _partition_date as transaction_date,
        _reject_reason as reason,
        {{ key_text(spec['key']) }} as natural_key,
        _source_file as source_file,
        _source_line as source_line,
        _payload as payload
    from {{ ref('int_' ~ entity ~ '__validated') }}
),

days as (
    select transaction_date, count(*) as landed_rows, count(reason) as rejected_rows
    from validated
    group by transaction_date
),

bad_days as (
    select transaction_date, landed_rows, rejected_rows
    from days
    where rejected_rows > {{ threshold }} * landed_rows
),

rejected as (
    select validated.*
    from validated
    inner join bad_days on bad_days.transaction_date = validated.transaction_date
    where validated.reason is not null
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
