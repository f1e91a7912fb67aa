{#- RFM per customer as of the latest transaction_date with sales (contract): each score is
    least(5, 1 + floor(5 x percent_rank())) over its measure, fewer recency days scoring
    higher, so equal values always get equal scores; then the named segments, first match
    wins (rfm_score: sql/macros/rfm_score.sql). -#}
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
        {{ rfm_score('recency_days desc') }} as r_score,
        {{ rfm_score('frequency') }} as f_score,
        {{ rfm_score('monetary') }} as m_score
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
