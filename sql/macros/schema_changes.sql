{#- Silver grows with the contract and never shrinks or changes a type by itself
    (docs/contract.md, "Changing the contract").

    The silver models are incremental with on_schema_change 'append_new_columns'
    (dbt_project.yml): a column added to the contract is added to the existing table (null
    in the rows written before) by dbt-duckdb and dbt-bigquery alike. That setting alone
    would also go on past a column the contract no longer lists (dbt inserts the others and
    leaves it null in the new rows) and past a changed type (the new values cast into the
    old column): both lose data without a word. So this wraps dbt's schema comparison
    (every adapter's process_schema_changes calls check_for_schema_changes): for a model
    that appends new columns, a column the query no longer returns or a changed type fails
    the model before it writes, saying what differs and what to do; added columns are
    logged at info level. Other on_schema_change values behave exactly as dbt's. -#}

{%- macro check_for_schema_changes(source_relation, target_relation) -%}
  {%- set changes = adapter.dispatch('check_for_schema_changes', 'dbt')(source_relation, target_relation) -%}
  {%- if config.get('on_schema_change') == 'append_new_columns' -%}
    {%- set removed = changes['target_not_in_source'] | map(attribute='name') | list -%}
    {%- set retyped = [] -%}
    {%- for change in changes['new_target_types'] -%}
      {%- set held = changes['target_columns'] | selectattr('name', 'equalto', change['column_name']) | first -%}
      {%- do retyped.append(change['column_name'] ~ ' ' ~ held.expanded_data_type ~ ' -> ' ~ change['new_type']) -%}
    {%- endfor -%}
    {%- if removed or retyped -%}
      {%- set message -%}
{{ target_relation }} no longer matches its model: {% if removed %}column(s) {{ removed | join(', ') }} are in the table but no longer in the model (removed from retail_platform/contract.toml?){% endif %}{% if removed and retyped %}; {% endif %}{% if retyped %}column type(s) changed: {{ retyped | join(', ') }}{% endif %}. Nothing was written. Silver only adds the contract's new columns by itself; removing or retyping a column is a migration: put the contract back as it was, or follow docs/contract.md, "Changing the contract" (drop the column from the raw table if removed, then one full refresh of the dbt models).
      {%- endset -%}
      {%- do exceptions.raise_compiler_error(message) -%}
    {%- endif -%}
    {%- if changes['source_not_in_target'] -%}
      {%- do log(target_relation ~ ': adding column(s) '
          ~ (changes['source_not_in_target'] | map(attribute='name') | join(', '))
          ~ ' (new in the contract; null in the rows written before)', info=true) -%}
    {%- endif -%}
  {%- endif -%}
  {{ return(changes) }}
{%- endmacro -%}
