{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key='store_id',
    on_schema_change='fail',
    tags=['partitioned'],
) }}

{{ upserted_dimension('stores', 'store_id') }}
