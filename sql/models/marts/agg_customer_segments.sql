{#- RFM per customer as of the latest transaction_date with sales: NTILE(5) scores
    (ties broken by customer_id, so the scores are deterministic) and named segments. -#}
with sales as (
    select customer_id, transaction_date, net_revenue
    from {{ ref('fact_sales') }}
    where {{ all_partitions('transaction_date') }} and is_sale
),

as_of as (
    select max(transaction_date) as as_of_date from sales
),

per_customer as (
    select
        sales.customer_id,
        {{ days_between('max(sales.transaction_date)', 'max(as_of.as_of_date)') }} as recency_days,
        count(*) as frequency,
        cast(sum(sales.net_revenue) as {{ type_money() }}) as monetary
    from sales
    cross join as_of
    group by sales.customer_id
),

scored as (
    select
        *,
        ntile(5) over (order by recency_days desc, customer_id) as r_score,
        ntile(5) over (order by frequency, customer_id) as f_score,
        ntile(5) over (order by monetary, customer_id) as m_score
    from per_customer
)

select
    customer_id,
    recency_days,
    frequency,
    monetary,
    r_score,
    f_score,
    m_score,
    case
        when r_score >= 4 and f_score >= 4 then 'Champions'
        when r_score = 1 and f_score >= 4 then {{ text_literal("Can't Lose Them") }}
        when r_score <= 2 and f_score >= 3 then 'At Risk'
        when r_score >= 3 and f_score >= 3 then 'Loyal'
        when r_score >= 4 and f_score = 1 then 'New'
        when r_score >= 3 and f_score = 2 then 'Potential Loyalists'
        when r_score >= 3 then 'Promising'
        else 'Hibernating'
    end as segment
from scored
