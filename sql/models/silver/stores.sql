{{ config(tags=['partitioned'], incremental_strategy='merge', unique_key='store_id') }}

{{ upserted_dimension('stores', 'store_id') }}
