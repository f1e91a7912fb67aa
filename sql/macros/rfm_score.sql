{#- An RFM score (contract, agg_customer_segments): least(5, 1 + floor(5 x percent_rank()))
    over `order_by`, so equal values get equal scores. percent_rank() is (rank - 1) / (n - 1)
    as a float; 5 x it is exact where it should be an integer (m/5 for m = 1..4 times 5 is
    m in binary floating point), so floor() never lands one below. -#}
{%- macro rfm_score(order_by) -%}
least(5, 1 + cast(floor(5 * percent_rank() over (order by {{ order_by }})) as {{ type_int() }}))
{%- endmacro %}
