{{ config(tags=['partitioned'], incremental_strategy='merge', unique_key='product_id') }}

{{ upserted_dimension('products', 'product_id') }}
