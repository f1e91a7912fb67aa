{#- Generic tests the built-in ones do not cover. -#}

{#- No two rows share the values of these columns (a composite key). -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as rows_with_key
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}

{#- Every row satisfies the expression; the failing rows are returned. -#}
{% test expression_is_true(model, expression) %}
select * from {{ model }} where not ({{ expression }})
{% endtest %}

{#- Like accepted_values, with each value quoted for the target's SQL dialect when the test
    runs (text_literal): accepted_values writes 'Can''t Lose Them', which BigQuery reads
    as two strings. -#}
{% test accepted_text_values(model, column_name, values) %}
select {{ column_name }} as value, count(*) as rows_with_value
from {{ model }}
where {{ column_name }} is not null
  and {{ column_name }} not in ({% for value in values %}{{ text_literal(value) }}{{ ", " if not loop.last }}{% endfor %})
group by {{ column_name }}
{% endtest %}


{#- Every row is on the same transaction_date as the row of `parent` it refers to (rows
    whose parent is missing are other tests' concern). -#}
{% test same_day_as_parent(model, column_name, parent, parent_column) %}
with child as (
    select {{ column_name }}, transaction_date from {{ model }}
)

select child.{{ column_name }}, child.transaction_date, parent.transaction_date as parent_date
from child
inner join {{ parent }} as parent on parent.{{ parent_column }} = child.{{ column_name }}
where parent.transaction_date <> child.transaction_date
{% endtest %}


{#- A natural key of the run's days appears once in the whole table, whatever day holds it:
    a key lives on one day (contract). Only the keys of the run's days are looked up, so a
    daily run reads the table's key columns, not its rows. -#}
{% test unique_across_partitions(model, column_name=none, columns=none) %}
{%- set key = columns if columns else [column_name] -%}
with window_keys as (
    select distinct {{ key | join(', ') }}
    from {{ model }}
    where {{ in_window('transaction_date') }}
)

select
    {%- for column in key %}
    all_rows.{{ column }},
    {%- endfor %}
    count(*) as rows_with_key
from {{ model }} as all_rows
inner join window_keys
    on {% for column in key %}window_keys.{{ column }} = all_rows.{{ column }}{{ " and " if not loop.last }}{% endfor %}
{#- a bound on the partition column: BigQuery tables that require a partition filter accept it #}
where all_rows.transaction_date >= cast('1900-01-01' as date)
group by {% for column in key %}all_rows.{{ column }}{{ ", " if not loop.last }}{% endfor %}
having count(*) > 1
{% endtest %}


{#- dbt's relationships test, reading the parent the way partitioned tables need
    (contract: no gold fact row refers to an order not in fact_sales, nor to a missing
    dimension row). The child is the run's window (`where: partition_window`, window.sql);
    the parent is read whole, bounded on transaction_date when it has one (BigQuery
    requires a partition filter on the gold facts), and only for the keys the child names,
    so a daily run looks up a day's keys, not the history's rows. Overrides dbt's
    default__test_relationships, for every relationships test of the project. -#}
{% macro default__test_relationships(model, column_name, to, field) %}
{%- set parent_columns = adapter.get_columns_in_relation(to) | map(attribute='name') | map('lower') | list if execute else [] -%}
with child as (
    select {{ column_name }} as from_field
    from {{ model }}
    where {{ column_name }} is not null
),

parent as (
    select {{ field }} as to_field
    from {{ to }}
    where {{ field }} in (select from_field from child)
    {%- if 'transaction_date' in parent_columns %}
        and {{ all_partitions('transaction_date') }}
    {%- endif %}
)

select
    from_field

from child
left join parent
    on child.from_field = parent.to_field

where parent.to_field is null
{% endmacro %}
