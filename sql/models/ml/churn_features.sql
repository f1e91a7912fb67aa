{#- Churn features per customer as of two cutoffs, and the label where it is known.

    * role 'score': cutoff = the scoring day (churn_as_of); features for today's scores.
    * role 'train': cutoff = scoring day - N label days; features from sales strictly
      before it, label churned = no sale in [cutoff, cutoff + N), a window that is
      complete because it ends on the scoring day.

    Every feature reads sales with transaction_date < cutoff_date only (the join below);
    the label alone looks at or after the cutoff. The store region is the one dimension
    attribute used: stores do not move between regions. -#}
{%- set label_days = churn_label_days() %}

with sales as (
    select
        customer_id,
        store_id,
        transaction_date,
        channel,
        is_returned,
        net_amount,
        net_revenue,
        gross_amount,
        discount_amount
    from {{ ref('fact_sales') }}
    where {{ all_partitions('transaction_date') }} and is_sale
),

scoring_day as (
    select {{ churn_as_of('latest_sale_date') }} as cutoff_date
    from (select max(transaction_date) as latest_sale_date from sales) as latest
),

cutoffs as (
    select 'score' as role, cutoff_date from scoring_day
    union all
    select 'train' as role, cast({{ dbt.dateadd('day', -label_days, 'cutoff_date') }} as date)
    from scoring_day
),

history as (
    select cutoffs.role, cutoffs.cutoff_date, sales.*
    from cutoffs
    inner join sales on sales.transaction_date < cutoffs.cutoff_date
),

per_customer as (
    select
        role,
        cutoff_date,
        customer_id,
        min(transaction_date) as first_order_date,
        max(transaction_date) as last_order_date,
        count(*) as frequency,
        {#- Sums stay exact decimals and become floats after, so features do not depend on
            the order a parallel aggregate adds rows in. -#}
        cast(sum(net_revenue) as {{ type_double() }}) as monetary,
        cast(sum(net_amount) as {{ type_double() }}) / count(*) as avg_basket,
        sum(case when is_returned then 1 else 0 end)
            / cast(count(*) as {{ type_double() }}) as return_rate,
        coalesce(
            cast(sum(discount_amount) as {{ type_double() }})
            / nullif(cast(sum(gross_amount) as {{ type_double() }}), 0),
            0
        ) as discount_share,
        sum(case when transaction_date >= {{ dbt.dateadd('day', -30, 'cutoff_date') }}
            then 1 else 0 end) as orders_last_30_days,
        sum(case when channel = 'online' then 1 else 0 end)
            / cast(count(*) as {{ type_double() }}) as online_share
    from history
    group by role, cutoff_date, customer_id
),

channel_rank as (
    select
        role,
        customer_id,
        channel,
        row_number() over (
            partition by role, customer_id order by count(*) desc, channel
        ) as rank_in_customer
    from history
    group by role, customer_id, channel
),

region_rank as (
    select
        history.role,
        history.customer_id,
        stores.region,
        row_number() over (
            partition by history.role, history.customer_id order by count(*) desc, stores.region
        ) as rank_in_customer
    from history
    inner join {{ ref('dim_stores') }} as stores on stores.store_id = history.store_id
    group by history.role, history.customer_id, stores.region
),

label_window as (
    select distinct cutoffs.role, sales.customer_id
    from cutoffs
    inner join sales
        on sales.transaction_date >= cutoffs.cutoff_date
        and sales.transaction_date < {{ dbt.dateadd('day', label_days, 'cutoffs.cutoff_date') }}
    where cutoffs.role = 'train'
)

select
    per_customer.customer_id,
    per_customer.role,
    per_customer.cutoff_date,
    {{ label_days }} as label_days,
    case
        when per_customer.role = 'score' then 'score'
        when {{ is_eval_customer('per_customer.customer_id') }} then 'eval'
        else 'train'
    end as split,
    per_customer.first_order_date,
    per_customer.last_order_date,
    {{ days_between('per_customer.last_order_date', 'per_customer.cutoff_date') }} as recency_days,
    per_customer.frequency,
    per_customer.monetary,
    {{ days_between('per_customer.first_order_date', 'per_customer.cutoff_date') }} as tenure_days,
    per_customer.avg_basket,
    per_customer.return_rate,
    per_customer.discount_share,
    {#- One order: the time since it is the best bound we have on the gap. -#}
    case
        when per_customer.frequency > 1
            then {{ days_between('per_customer.first_order_date', 'per_customer.last_order_date') }}
                / cast(per_customer.frequency - 1 as {{ type_double() }})
        else cast({{ days_between('per_customer.first_order_date', 'per_customer.cutoff_date') }}
            as {{ type_double() }})
    end as avg_days_between_orders,
    per_customer.orders_last_30_days,
    per_customer.online_share,
    channel_rank.channel as preferred_channel,
    region_rank.region as preferred_region,
    case
        when per_customer.role = 'score' then null
        when label_window.customer_id is null then 1
        else 0
    end as churned
from per_customer
inner join channel_rank
    on channel_rank.role = per_customer.role
    and channel_rank.customer_id = per_customer.customer_id
    and channel_rank.rank_in_customer = 1
left join region_rank
    on region_rank.role = per_customer.role
    and region_rank.customer_id = per_customer.customer_id
    and region_rank.rank_in_customer = 1
left join label_window
    on label_window.role = per_customer.role
    and label_window.customer_id = per_customer.customer_id
