{#- The partition window: [min_date, max_date), end-exclusive. Dagster passes it in the
    environment (RETAIL_WINDOW_MIN_DATE / _MAX_DATE): unlike --vars, a changed env var
    re-parses only the files that use it, so dbt keeps its partial parse. By hand,
    `dbt build --vars '{"min_date": ..., "max_date": ...}'` works too. -#}

{%- macro window_bound(name) -%}
  {%- if name == 'min_date' -%}
    {%- set value = env_var('RETAIL_WINDOW_MIN_DATE', var('min_date')) | string -%}
  {%- else -%}
    {%- set value = env_var('RETAIL_WINDOW_MAX_DATE', var('max_date')) | string -%}
  {%- endif -%}
  {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value) -%}
    {{ exceptions.raise_compiler_error("var " ~ name ~ " must be YYYY-MM-DD, got " ~ value) }}
  {%- endif -%}
  {{ return(value) }}
{%- endmacro -%}

{%- macro in_window(column) -%}
  {{ column }} >= cast('{{ window_bound("min_date") }}' as date)
  and {{ column }} < cast('{{ window_bound("max_date") }}' as date)
{%- endmacro -%}


{#- The window on raw's _partition_date (midnight of the day, a DATETIME on BigQuery):
    compared with constants of its own type, so BigQuery prunes the raw partitions. -#}
{%- macro in_window_datetime(column) -%}
  {{ column }} >= cast('{{ window_bound("min_date") }}' as {{ type_datetime() }})
  and {{ column }} < cast('{{ window_bound("max_date") }}' as {{ type_datetime() }})
{%- endmacro -%}


{#- Incremental config of a model partitioned by transaction_date: a run replaces exactly
    the window's partitions, so re-runs and backfills in any order give the same table. -#}
{%- macro window_replace_config(cluster_by=none, require_partition_filter=false) -%}
  {{ return(adapter.dispatch('window_replace_config', 'retail_platform')(cluster_by, require_partition_filter)) }}
{%- endmacro -%}

{%- macro default__window_replace_config(cluster_by, require_partition_filter) -%}
  {{ return({'incremental_strategy': 'window_replace', 'partition_column': 'transaction_date'}) }}
{%- endmacro -%}

{%- macro bigquery__window_replace_config(cluster_by, require_partition_filter) -%}
  {%- set start = modules.datetime.date.fromisoformat(window_bound('min_date')) -%}
  {%- set end = modules.datetime.date.fromisoformat(window_bound('max_date')) -%}
  {%- set partitions = [] -%}
  {%- if (end - start).days <= 4000 -%}
    {%- for offset in range((end - start).days) -%}
      {%- do partitions.append("date '" ~ (start + modules.datetime.timedelta(days=offset)).isoformat() ~ "'") -%}
    {%- endfor -%}
  {%- endif -%}
  {%- set config = {
      'incremental_strategy': 'insert_overwrite',
      'partition_by': {'field': 'transaction_date', 'data_type': 'date', 'granularity': 'day'},
      'partitions': partitions if partitions else none,
      'require_partition_filter': require_partition_filter,
  } -%}
  {%- if cluster_by -%}{%- do config.update({'cluster_by': cluster_by}) -%}{%- endif -%}
  {{ return(config) }}
{%- endmacro -%}


{#- The custom strategy behind window_replace on DuckDB: delete the window, insert it. -#}
{%- macro get_incremental_window_replace_sql(arg_dict) -%}
  {%- set column = config.get('partition_column') -%}
  {%- set columns = get_quoted_csv(arg_dict["dest_columns"] | map(attribute="name")) -%}
  delete from {{ arg_dict["target_relation"] }} where {{ in_window(column) }};
  insert into {{ arg_dict["target_relation"] }} ({{ columns }})
  select {{ columns }} from {{ arg_dict["temp_relation"] }}
{%- endmacro -%}
