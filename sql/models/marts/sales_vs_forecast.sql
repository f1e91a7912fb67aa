{{ config(materialized='view') }}  {#- a view: a new forecast and a landed day show at once -#}
{#- Actual net revenue against the forecast and its interval, per store (and all_stores)
    and day, from the published forecast (ml/sales_forecast: the newest version that passed
    its backtest gate): its backtest days (the 28 days before the day it was trained
    through, forecast by the model trained 28 days earlier) and its forecast days (the 28
    after). Actuals are agg_daily_sales' net revenue, null for a day not loaded yet. -#}
{#- The forecast columns aliased: the BigQuery IO manager writes sales_forecast's columns
    upper case (dagster-io/dagster#14129), see customer_health. -#}
with forecasts as (
    select
        store_id,
        forecast_date,
        forecast_kind,
        forecast,
        forecast_lower,
        forecast_upper,
        interval_level,
        model_version,
        trained_through,
        passed_gate
    from {{ optional_source('retail_ml', 'sales_forecast', [
        ('store_id', type_text()),
        ('forecast_date', 'date'),
        ('forecast_kind', type_text()),
        ('forecast', type_double()),
        ('forecast_lower', type_double()),
        ('forecast_upper', type_double()),
        ('interval_level', type_double()),
        ('model_version', type_text()),
        ('trained_through', 'date'),
        ('passed_gate', type_bool()),
    ]) }}
),

champion as (
    select max(model_version) as model_version
    from forecasts
    where passed_gate
),

store_sales as (
    select
        transaction_date,
        store_id,
        net_revenue
    from {{ ref('agg_daily_sales') }}
    where {{ all_partitions('transaction_date') }}
),

actuals as (
    select
        transaction_date,
        store_id,
        net_revenue
    from store_sales
    union all
    select
        transaction_date,
        'all_stores' as store_id,
        sum(net_revenue) as net_revenue
    from store_sales
    group by transaction_date
)

select
    cast(forecasts.forecast_date as date) as forecast_date,
    forecasts.store_id as store_id,
    forecasts.forecast_kind as forecast_kind,
    cast(actuals.net_revenue as {{ type_money() }}) as actual_net_revenue,
    cast(forecasts.forecast as {{ type_double() }}) as forecast,
    cast(forecasts.forecast_lower as {{ type_double() }}) as forecast_lower,
    cast(forecasts.forecast_upper as {{ type_double() }}) as forecast_upper,
    cast(forecasts.interval_level as {{ type_double() }}) as interval_level,
    actuals.net_revenue between forecasts.forecast_lower and forecasts.forecast_upper
    as within_interval,
    forecasts.model_version as model_version,
    cast(forecasts.trained_through as date) as trained_through
from forecasts
inner join champion
    on forecasts.model_version = champion.model_version
left join actuals
    on
        actuals.transaction_date = cast(forecasts.forecast_date as date)
        and actuals.store_id = forecasts.store_id
