{{ config(tags=['partitioned'], incremental_strategy='merge', unique_key='employee_id') }}

{{ upserted_dimension('employees', 'employee_id') }}
