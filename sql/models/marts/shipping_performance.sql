{#- Per carrier: on-time and damage rates; delays among delivered shipments. -#}
select
    carrier,
    count(*) as shipments,
    cast(sum(case when is_delivered then 1 else 0 end) as {{ type_int() }}) as delivered,
    sum(case when is_delivered and delay_days <= 0 then 1 else 0 end)
        / nullif(sum(case when is_delivered then 1 else 0 end), 0) as on_time_rate,
    avg(case when is_delivered then greatest(delay_days, 0) end) as avg_delay_days,
    sum(case when damaged then 1 else 0 end) / count(*) as damage_rate,
    sum(case when status = 'lost' then 1 else 0 end) / count(*) as loss_rate
from {{ ref('fact_shipments') }}
where {{ all_partitions('transaction_date') }}
group by carrier
