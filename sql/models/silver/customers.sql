{{ config(tags=['partitioned'], incremental_strategy='merge', unique_key='customer_id') }}

{{ upserted_dimension('customers', 'customer_id') }}
