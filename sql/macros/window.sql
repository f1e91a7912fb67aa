{#- The partition window: [min_date, max_date), end-exclusive, plus the days outside it
    that the run must rebuild too (extra_days: the days a key moved away from, the days of
    orders whose lines or payments changed; defs/transforms/rebuild_days.py). Dagster passes
    them in the environment (RETAIL_WINDOW_MIN_DATE / _MAX_DATE / _EXTRA_DAYS), read only
    when a model executes: dbt records every env var read while it parses and re-parses the
    files that read it when the value changes, so a window read at parse time would re-parse
    most of the project on every run (--vars would force a full parse). By hand,
    `dbt build --vars '{"min_date": ..., "max_date": ...}'` works too.
    at_parse=true reads it while parsing too: only for config that dbt fixes at parse
    time (BigQuery's static partition list). -#}

{%- macro window_bound(name, at_parse=false) -%}
  {%- if not (execute or at_parse) -%}
    {{ return(var(name) | string) }}
  {%- elif name == 'min_date' -%}
    {%- set value = env_var('RETAIL_WINDOW_MIN_DATE', var('min_date')) | string -%}
  {%- else -%}
    {%- set value = env_var('RETAIL_WINDOW_MAX_DATE', var('max_date')) | string -%}
  {%- endif -%}
  {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value) -%}
    {{ exceptions.raise_compiler_error("var " ~ name ~ " must be YYYY-MM-DD, got " ~ value) }}
  {%- endif -%}
  {{ return(value) }}
{%- endmacro -%}

{#- The extra days, YYYY-MM-DD each, sorted; none unless the run asks for some. -#}
{%- macro window_extra_days(at_parse=false) -%}
  {%- if not (execute or at_parse) -%}{{ return([]) }}{%- endif -%}
  {%- set days = [] -%}
  {%- for value in env_var('RETAIL_WINDOW_EXTRA_DAYS', '').split(',') if value.strip() -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value.strip()) -%}
      {{ exceptions.raise_compiler_error("RETAIL_WINDOW_EXTRA_DAYS must be YYYY-MM-DD,... got " ~ value) }}
    {%- endif -%}
    {%- do days.append(value.strip()) -%}
  {%- endfor -%}
  {{ return(days | sort) }}
{%- endmacro -%}

{%- macro in_window(column) -%}
  {%- set extra = window_extra_days() -%}
  {%- if extra %}({% endif -%}
  {{ column }} >= cast('{{ window_bound("min_date") }}' as date)
  and {{ column }} < cast('{{ window_bound("max_date") }}' as date)
  {%- if extra %}
  or {{ column }} in ({% for day in extra %}cast('{{ day }}' as date){{ ", " if not loop.last }}{% endfor %}))
  {%- endif -%}
{%- endmacro -%}


{#- The window on raw's _partition_date (midnight of the day, a DATETIME on BigQuery):
    compared with constants of its own type, so BigQuery prunes the raw partitions. -#}
{%- macro in_window_datetime(column) -%}
  {%- set extra = window_extra_days() -%}
  {%- if extra %}({% endif -%}
  {{ column }} >= cast('{{ window_bound("min_date") }}' as {{ type_datetime() }})
  and {{ column }} < cast('{{ window_bound("max_date") }}' as {{ type_datetime() }})
  {%- if extra %}
  or {{ column }} in ({% for day in extra %}cast('{{ day }}' as {{ type_datetime() }}){{ ", " if not loop.last }}{% endfor %}))
  {%- endif -%}
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
  {%- set start = modules.datetime.date.fromisoformat(window_bound('min_date', at_parse=true)) -%}
  {%- set end = modules.datetime.date.fromisoformat(window_bound('max_date', at_parse=true)) -%}
  {%- set partitions = [] -%}
  {%- if (end - start).days <= 4000 -%}
    {%- for offset in range((end - start).days) -%}
      {%- do partitions.append("date '" ~ (start + modules.datetime.timedelta(days=offset)).isoformat() ~ "'") -%}
    {%- endfor -%}
    {%- for day in window_extra_days(at_parse=true) -%}
      {%- do partitions.append("date '" ~ day ~ "'") -%}
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


{#- Generic tests on partitioned models check the run's window only: their yml says
    `where: partition_window`, turned into the window here, when the test executes. (A
    window written into the yml would be fixed when dbt parses it, and re-parsed on every
    new window.) Any other `where` works as in dbt's own macro. -#}
{%- macro default__get_where_subquery(relation) -%}
  {%- set where = config.get('where', '') -%}
  {%- if where == 'partition_window' -%}
    {%- set where = in_window('transaction_date') -%}
  {%- endif -%}
  {%- if where -%}
    {{ return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') }}
  {%- else -%}
    {{ return(relation) }}
  {%- endif -%}
{%- endmacro -%}
