{#- Dialect differences live here, dispatched per adapter; models stay dialect-free. -#}

{%- macro try_cast(expression, type) -%}
  {{ return(adapter.dispatch('try_cast', 'retail_platform')(expression, type)) }}
{%- endmacro -%}
{%- macro default__try_cast(expression, type) -%} try_cast({{ expression }} as {{ type }}) {%- endmacro -%}
{%- macro bigquery__try_cast(expression, type) -%} safe_cast({{ expression }} as {{ type }}) {%- endmacro -%}


{#- Exact money: DECIMAL(18,2) on DuckDB, NUMERIC on BigQuery (docs/contract.md); a rate;
    a 64-bit float. Read from dbt_project.yml's vars, where the gold and mart contracts read
    them too (a yml data_type cannot call a macro): each spelled in one place. -#}
{%- macro type_money() -%} {{ return(var('type_money')[target.type]) }} {%- endmacro -%}
{%- macro type_rate() -%} {{ return(var('type_rate')[target.type]) }} {%- endmacro -%}

{%- macro type_int() -%} {{ return(adapter.dispatch('type_int', 'retail_platform')()) }} {%- endmacro -%}
{%- macro default__type_int() -%} bigint {%- endmacro -%}
{%- macro bigquery__type_int() -%} int64 {%- endmacro -%}

{%- macro type_text() -%} {{ return(adapter.dispatch('type_text', 'retail_platform')()) }} {%- endmacro -%}
{%- macro default__type_text() -%} varchar {%- endmacro -%}
{%- macro bigquery__type_text() -%} string {%- endmacro -%}

{#- A 64-bit float (dbt.type_float() is 32-bit on DuckDB): model features, not money. -#}
{%- macro type_double() -%} {{ return(var('type_double')[target.type]) }} {%- endmacro -%}

{#- A zone-less timestamp (raw's _partition_date and _ingested_at). -#}
{%- macro type_datetime() -%} {{ return(adapter.dispatch('type_datetime', 'retail_platform')()) }} {%- endmacro -%}
{%- macro default__type_datetime() -%} timestamp {%- endmacro -%}
{%- macro bigquery__type_datetime() -%} datetime {%- endmacro -%}

{%- macro type_bool() -%} {{ return(adapter.dispatch('type_bool', 'retail_platform')()) }} {%- endmacro -%}
{%- macro default__type_bool() -%} boolean {%- endmacro -%}
{%- macro bigquery__type_bool() -%} bool {%- endmacro -%}


{#- Money divided by a count, rounded to cents half away from zero, exactly. DuckDB turns
    a DECIMAL division into a DOUBLE (1182.84 / 8 = 147.85499…, which rounds to 147.85),
    so it divides whole cents in integers; BigQuery's NUMERIC division is exact. -#}
{%- macro money_per(numerator, denominator) -%}
  {{ return(adapter.dispatch('money_per', 'retail_platform')(numerator, denominator)) }}
{%- endmacro -%}
{%- macro default__money_per(numerator, denominator) -%}
  cast(
    sign({{ numerator }})
    * ((abs(cast(({{ numerator }}) * 100 as bigint)) * 2 + ({{ denominator }})) // (2 * ({{ denominator }})))
    / 100.0
  as {{ type_money() }})
{%- endmacro -%}
{%- macro bigquery__money_per(numerator, denominator) -%}
  cast(round(({{ numerator }}) / ({{ denominator }}), 2) as {{ type_money() }})
{%- endmacro -%}


{#- A string literal, quoted for the engine: DuckDB doubles a quote ('Can''t'), BigQuery
    escapes it with a backslash ('Can\'t'; there 'Can''t' is two literals, "Cant"). -#}
{%- macro text_literal(value) -%}
  {{ return(adapter.dispatch('text_literal', 'retail_platform')(value)) }}
{%- endmacro -%}
{%- macro default__text_literal(value) -%} '{{ value | replace("'", "''") }}' {%- endmacro -%}
{%- macro bigquery__text_literal(value) -%} '{{ value | replace("\\", "\\\\") | replace("'", "\\'") }}' {%- endmacro -%}


{#- A stable surrogate key: a hash of the natural key, never row_number(). -#}
{%- macro surrogate_key(columns) -%}
  {{ return(adapter.dispatch('surrogate_key', 'retail_platform')(columns)) }}
{%- endmacro -%}
{%- macro default__surrogate_key(columns) -%}
  md5({%- for column in columns %}coalesce(cast({{ column }} as varchar), '\x00'){{ " || '|' || " if not loop.last }}{% endfor -%})
{%- endmacro -%}
{%- macro bigquery__surrogate_key(columns) -%}
  to_hex(md5(concat({%- for column in columns %}coalesce(cast({{ column }} as string), '\x00'){{ ", '|', " if not loop.last }}{% endfor -%})))
{%- endmacro -%}


{#- A repeated record ordered by its first field: fields is a list of (alias, expression);
    aliases are always explicit. DuckDB sorts the finished lists (list_sort compares structs
    field by field) rather than aggregating with ORDER BY: an ordered aggregate buffers every
    group's input in memory and cannot spill, and failed on a year's order lines at 3GB. -#}
{%- macro nested_records(fields) -%}
  {{ return(adapter.dispatch('nested_records', 'retail_platform')(fields)) }}
{%- endmacro -%}
{%- macro default__nested_records(fields) -%}
  list_sort(list(struct_pack({%- for alias, expression in fields %}{{ alias }} := {{ expression }}{{ ", " if not loop.last }}{% endfor -%})))
{%- endmacro -%}
{%- macro bigquery__nested_records(fields) -%}
  array_agg(struct({%- for alias, expression in fields %}{{ expression }} as {{ alias }}{{ ", " if not loop.last }}{% endfor -%}) order by {{ fields[0][1] }})
{%- endmacro -%}


{#- The original row as a JSON object, for rejects. -#}
{%- macro json_payload(columns, relation, prefix='') -%}
  {{ return(adapter.dispatch('json_payload', 'retail_platform')(columns, relation, prefix)) }}
{%- endmacro -%}
{%- macro default__json_payload(columns, relation, prefix) -%}
  cast(to_json(struct_pack({%- for column in columns %}"{{ column }}" := {{ relation }}.{{ prefix }}{{ column }}{{ ", " if not loop.last }}{% endfor -%})) as varchar)
{%- endmacro -%}
{%- macro bigquery__json_payload(columns, relation, prefix) -%}
  to_json_string(struct({%- for column in columns %}{{ relation }}.{{ prefix }}{{ column }} as {{ column }}{{ ", " if not loop.last }}{% endfor -%}))
{%- endmacro -%}


{#- A natural key as readable text (for rejects): parts joined with '|'. -#}
{%- macro key_text(columns) -%}
  concat({%- for column in columns %}coalesce(cast({{ column }} as {{ type_text() }}), ''){{ ", '|', " if not loop.last }}{% endfor -%})
{%- endmacro -%}


{#- Rows of a repeated record column: `from <relation> ..., <alias>` with fields as <alias>.<field>. -#}
{%- macro from_unnested(relation, column, alias) -%}
  {{ return(adapter.dispatch('from_unnested', 'retail_platform')(relation, column, alias)) }}
{%- endmacro -%}
{%- macro default__from_unnested(relation, column, alias) -%}
  {{ relation }} as parent, unnest(parent.{{ column }}) as unnested({{ alias }})
{%- endmacro -%}
{%- macro bigquery__from_unnested(relation, column, alias) -%}
  {{ relation }} as parent, unnest(parent.{{ column }}) as {{ alias }}
{%- endmacro -%}


{#- Every date from start to end, inclusive, as a one-column relation `date_day`. -#}
{%- macro date_spine(start_date, end_date) -%}
  {{ return(adapter.dispatch('date_spine', 'retail_platform')(start_date, end_date)) }}
{%- endmacro -%}
{%- macro default__date_spine(start_date, end_date) -%}
  select cast(day as date) as date_day
  from generate_series(cast('{{ start_date }}' as date), cast('{{ end_date }}' as date), interval 1 day) as days(day)
{%- endmacro -%}
{%- macro bigquery__date_spine(start_date, end_date) -%}
  select date_day
  from unnest(generate_date_array(date '{{ start_date }}', date '{{ end_date }}')) as date_day
{%- endmacro -%}


{#- Whole days from a to b (b - a). -#}
{%- macro days_between(a, b) -%} {{ dbt.datediff(a, b, 'day') }} {%- endmacro -%}

{#- Day of week, Monday = 1 .. Sunday = 7. -#}
{%- macro iso_day_of_week(column) -%}
  {{ return(adapter.dispatch('iso_day_of_week', 'retail_platform')(column)) }}
{%- endmacro -%}
{%- macro default__iso_day_of_week(column) -%} isodow({{ column }}) {%- endmacro -%}
{%- macro bigquery__iso_day_of_week(column) -%} extract(dayofweek from {{ column }}) - 1 + if(extract(dayofweek from {{ column }}) = 1, 7, 0) {%- endmacro -%}


{#- A filter that is always true but names the partition column, so BigQuery tables
    with require_partition_filter can be read in full (views over gold). -#}
{%- macro all_partitions(column) -%}
  {{ column }} >= cast('1900-01-01' as date)
{%- endmacro -%}
