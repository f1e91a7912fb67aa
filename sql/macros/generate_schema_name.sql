{#- Schemas are exactly the layer names (retail_silver, retail_gold, ...), not prefixed
    with the target's default schema. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name if custom_schema_name else target.schema }}
{%- endmacro %}
