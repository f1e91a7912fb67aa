{#- Helpers of the customer-value and sales-breakdown marts (customer_value_tiers,
    repeat_customer_revenue, top_customers, city_sales, category_sales, discount_analysis). -#}

{#- part / whole as a 64-bit float, null when whole is 0 (a share of an empty total is
    unknown, not 0). BigQuery divides NUMERICs exactly and has safe_divide; DuckDB divides
    DECIMALs in floats and raises on nothing, so the 0 is made a null first. -#}
{%- macro share_of(part, whole) -%}
  {{ return(adapter.dispatch('share_of', 'retail_platform')(part, whole)) }}
{%- endmacro -%}
{%- macro default__share_of(part, whole) -%}
  cast(({{ part }}) / nullif({{ whole }}, 0) as {{ type_double() }})
{%- endmacro -%}
{%- macro bigquery__share_of(part, whole) -%}
  cast(safe_divide({{ part }}, {{ whole }}) as {{ type_double() }})
{%- endmacro -%}


{#- A customer's value tier from their rank by lifetime net spend (rank(): ties share the
    rank of the first of them) among `customers` customers: High when fewer than 20 % of
    the customers spent strictly more, Medium when fewer than 50 %, else Low; a customer
    who spent nothing (every sale returned) is Low whatever the rank. Integer arithmetic,
    so a boundary falls on the same customer on both engines. -#}
{%- macro value_tier(spend_rank, customers, net_spend) -%}
  case
    when {{ net_spend }} <= 0 then 'Low'
    when ({{ spend_rank }} - 1) * 10 < {{ customers }} * 2 then 'High'
    when ({{ spend_rank }} - 1) * 10 < {{ customers }} * 5 then 'Medium'
    else 'Low'
  end
{%- endmacro -%}


{#- The discount depth band of an order line's discount_rate (0-1), and its order on a
    chart. Bands are (lower, upper]: 10 % exactly is "up to 10%". -#}
{%- macro discount_band(rate) -%}
  case
    when {{ rate }} = 0 then 'no discount'
    when {{ rate }} <= 0.10 then 'up to 10%'
    when {{ rate }} <= 0.20 then '10-20%'
    when {{ rate }} <= 0.30 then '20-30%'
    else 'over 30%'
  end
{%- endmacro -%}
{%- macro discount_band_order(rate) -%}
  cast(case
    when {{ rate }} = 0 then 1
    when {{ rate }} <= 0.10 then 2
    when {{ rate }} <= 0.20 then 3
    when {{ rate }} <= 0.30 then 4
    else 5
  end as {{ type_int() }})
{%- endmacro -%}
