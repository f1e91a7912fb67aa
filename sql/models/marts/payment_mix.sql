{{ config(
    materialized='incremental',
    on_schema_change='fail',
    tags=['partitioned'],
    **window_replace_config()
) }}

{#- Payment attempts per day and method: how many, how much was collected, how many failed.
    A day's rows depend on that day's payments only: the window replaces its days. -#}
select
    transaction_date,
    method,
    count(*) as payments,
    cast(sum(case when status = 'succeeded' then amount else 0 end) as {{ type_money() }}) as amount,
    sum(case when status = 'failed' then 1 else 0 end) / count(*) as failure_rate
from {{ ref('fact_payments') }}
where {{ in_window('transaction_date') }}
group by transaction_date, method
