{{ config(materialized='view') }}  {#- a view: the newest churn scores show as soon as churn_scores is written -#}
{#- One row per customer with a sale: RFM segment, today's churn risk, lifetime value
    (net revenue to date, the contract's net_revenue summed over all the customer's days).
    Churn columns stay null until a churn model has met its floor and scored. -#}
{#- The churn columns aliased: the BigQuery IO manager writes churn_scores' columns upper
    case (dagster-io/dagster#14129), and an unaliased column may come out named as the
    table stores it (the emulator's does), not as the contract (the yml) names it. -#}
select
    segments.customer_id,
    segments.segment,
    scores.churn_probability as churn_probability,
    scores.churn_risk_band as churn_risk_band,
    segments.monetary as lifetime_value,
    segments.recency_days,
    segments.frequency,
    scores.model_version as model_version
from {{ ref('agg_customer_segments') }} as segments
left join {{ optional_source('retail_ml', 'churn_scores', [
    ('customer_id', type_text()),
    ('churn_probability', type_double()),
    ('churn_risk_band', type_text()),
    ('model_version', type_text()),
]) }} as scores
    on scores.customer_id = segments.customer_id
