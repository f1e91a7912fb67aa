{#- The calendar, from calendar_start to calendar_end (dbt_project.yml vars), and which
    days hold sales: a BI date filter can offer only the loaded days. -#}
with days as (
    {{ date_spine(var('calendar_start'), var('calendar_end')) }}
),

sales_days as (
    select distinct transaction_date
    from {{ ref('fact_sales') }}
    where {{ all_partitions('transaction_date') }}
)

select
    {{ surrogate_key(['date_day']) }} as date_key,
    date_day,
    extract(year from date_day) as year,
    extract(quarter from date_day) as quarter,
    extract(month from date_day) as month,
    extract(day from date_day) as day_of_month,
    {{ iso_day_of_week('date_day') }} as iso_day_of_week,
    {{ iso_day_of_week('date_day') }} >= 6 as is_weekend,
    cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start,
    sales_days.transaction_date is not null as has_sales
from days
left join sales_days on sales_days.transaction_date = days.date_day
