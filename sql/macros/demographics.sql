{#- The age band of a birth date on a day: whole years (one more on each birthday; a
    29 February birthday counts on 1 March in other years), then 'under_18', '18-24',
    '25-34', '35-44', '45-54', '55-64', '65+', or 'unknown' for no birth date. Plain
    extract() and arithmetic: the same SQL on DuckDB and BigQuery. -#}
{%- macro age_band(birth_date, as_of) -%}
  {%- set age -%}
    (extract(year from {{ as_of }}) - extract(year from {{ birth_date }})
     - case
         when extract(month from {{ as_of }}) * 100 + extract(day from {{ as_of }})
              < extract(month from {{ birth_date }}) * 100 + extract(day from {{ birth_date }})
         then 1 else 0
       end)
  {%- endset -%}
  case
    when {{ birth_date }} is null then 'unknown'
    when {{ age }} < 18 then 'under_18'
    when {{ age }} < 25 then '18-24'
    when {{ age }} < 35 then '25-34'
    when {{ age }} < 45 then '35-44'
    when {{ age }} < 55 then '45-54'
    when {{ age }} < 65 then '55-64'
    else '65+'
  end
{%- endmacro -%}
