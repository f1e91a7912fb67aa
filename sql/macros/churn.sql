{#- Churn settings. Dagster and a user at the shell set them in the environment (which,
    unlike --vars, keeps dbt's partial parse); the vars in dbt_project.yml are defaults.
    Like the partition window (window.sql), they are read only when the model executes.
    * RETAIL_CHURN_LABEL_DAYS: a customer has churned after N days without a purchase.
    * RETAIL_CHURN_AS_OF: the scoring cutoff (YYYY-MM-DD); by default the day after the
      latest sale, so "today's features" use every sale loaded. -#}

{%- macro churn_label_days() -%}
  {%- if not execute -%}{{ return(var('churn_label_days') | int) }}{%- endif -%}
  {%- set value = env_var('RETAIL_CHURN_LABEL_DAYS', var('churn_label_days')) | string -%}
  {%- if not modules.re.match('^[0-9]{1,3}$', value) or (value | int) < 1 -%}
    {{ exceptions.raise_compiler_error("churn label window must be 1..999 days, got " ~ value) }}
  {%- endif -%}
  {{ return(value | int) }}
{%- endmacro -%}

{%- macro churn_as_of(latest_sale_date) -%}
  {%- set value = env_var('RETAIL_CHURN_AS_OF', '') | string if execute else '' -%}
  {%- if value == '' -%}
    cast({{ dbt.dateadd('day', 1, latest_sale_date) }} as date)
  {%- elif modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value) -%}
    cast('{{ value }}' as date)
  {%- else -%}
    {{ exceptions.raise_compiler_error("RETAIL_CHURN_AS_OF must be YYYY-MM-DD, got " ~ value) }}
  {%- endif -%}
{%- endmacro -%}

{#- The evaluation split: a quarter of the customers, chosen by a hash of customer_id so
    the split is the same on every run and on both engines (Python mirrors it in
    retail_platform/lib/churn/features.py). -#}
{%- macro is_eval_customer(customer_id) -%}
  substr({{ surrogate_key([customer_id]) }}, 1, 1) in ('0', '1', '2', '3')
{%- endmacro -%}
