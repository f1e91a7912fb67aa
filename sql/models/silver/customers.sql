{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key='customer_id',
    on_schema_change='fail',
    tags=['partitioned'],
) }}

{{ upserted_dimension('customers', 'customer_id') }}
