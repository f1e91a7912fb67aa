{{ config(tags=['partitioned'], **window_replace_config()) }}

{#- Every raw row of the window that failed validation, with the reason and the original
    payload. Nothing is dropped silently: raw = silver + rejects + duplicates removed. -#}
{%- for entity, spec in contract_entities().items() %}
select
    _partition_date as transaction_date,
    '{{ entity }}' as entity,
    {{ key_text(spec["key"]) }} as natural_key,
    _reject_reason as reason,
    _source_file as source_file,
    _source_line as source_line,
    _payload as payload,
    _ingested_at as ingested_at
from {{ ref('int_' ~ entity ~ '__validated') }}
where _reject_reason is not null
{% if not loop.last %}union all{% endif %}
{%- endfor %}
