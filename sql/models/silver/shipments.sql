{{ config(tags=['partitioned'], **window_replace_config()) }}

{#- Valid shipments of the run's days, newest version per natural key (validated_rows.sql);
    the run replaces those days. -#}
{{ newest_valid_facts('shipments', ['shipment_id']) }}
