{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key='product_id',
    on_schema_change='fail',
    tags=['partitioned'],
) }}

{{ upserted_dimension('products', 'product_id') }}
