{{ config(materialized='view') }}  {#- a view: a new recommendation run shows at once -#}
{#- The products recommended most: for each product in a customer's top 3 or top 10
    (ml/product_recommendations: the newest model that beat the popularity baseline), how
    many customers it is recommended to and their share of the customers recommended to.
    What a store manager stocks and promotes; no customer is shown. -#}
{#- The recommendation columns aliased: the BigQuery IO manager writes them upper case
    (dagster-io/dagster#14129), see customer_health. -#}
with recommendations as (
    select
        customer_id,
        product_id,
        recommendation_rank,
        model_version
    from {{ optional_source('retail_ml', 'product_recommendations', [
        ('customer_id', type_text()),
        ('product_id', type_text()),
        ('recommendation_rank', type_int()),
        ('model_version', type_text()),
    ]) }}
),

customers as (
    select count(distinct customer_id) as customers from recommendations
),

per_product as (
    select
        product_id,
        max(model_version) as model_version,
        count(distinct case when recommendation_rank <= 3 then customer_id end) as customers_top_3,
        count(distinct customer_id) as customers_top_10
    from recommendations
    group by product_id
)

select
    per_product.product_id as product_id,
    products.product_name,
    products.category,
    cast(per_product.customers_top_3 as {{ type_int() }}) as customers_top_3,
    cast(per_product.customers_top_10 as {{ type_int() }}) as customers_top_10,
    {{ share_of('per_product.customers_top_3', 'customers.customers') }} as share_of_customers_top_3,
    per_product.model_version
from per_product
cross join customers
left join {{ ref('dim_products') }} as products on products.product_id = per_product.product_id
