{{ config(tags=['partitioned'], **window_replace_config()) }}

{#- Valid order_items of the run's days, newest version per natural key (validated_rows.sql);
    the run replaces those days. -#}
{{ newest_valid_facts('order_items', ['order_id', 'line_no']) }}
