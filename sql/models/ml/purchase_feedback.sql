{#- The implicit feedback product recommendations learn from: per customer, product and
    day, how many of the customer's sales that day held the product (the contract's sales:
    completed or returned orders; a return still shows what the customer chose). -#}
select
    parent.customer_id,
    item.product_id,
    parent.transaction_date,
    cast(count(distinct parent.order_id) as {{ type_int() }}) as purchases
from {{ from_unnested(ref('fact_sales'), 'line_items', 'item') }}
where {{ all_partitions('parent.transaction_date') }} and parent.is_sale
group by parent.customer_id, item.product_id, parent.transaction_date
