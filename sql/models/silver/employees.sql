{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key='employee_id',
    on_schema_change='fail',
    tags=['partitioned'],
) }}

{{ upserted_dimension('employees', 'employee_id') }}
