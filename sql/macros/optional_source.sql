{#- A source table another system writes that may not exist yet (ml/churn_scores before the
    first scoring run on a new warehouse): the table when it exists, else an empty relation
    with the same columns, so the views over it build and show nothing instead of failing.
    `columns`: [(name, type), ...]. The source() call at parse time keeps the lineage. -#}
{%- macro optional_source(source_name, table_name, columns) -%}
  {%- set relation = source(source_name, table_name) -%}
  {%- if execute and adapter.get_relation(
        database=relation.database, schema=relation.schema, identifier=relation.identifier
      ) is none -%}
    (select
      {%- for name, type in columns %}
        cast(null as {{ type }}) as {{ name }}{{ "," if not loop.last }}
      {%- endfor %}
     from (select 1 as one) as nothing where 1 = 0)
  {%- else -%}
    {{ relation }}
  {%- endif -%}
{%- endmacro -%}
