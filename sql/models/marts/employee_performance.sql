{#- Sales per employee (in-store orders; online orders have no employee). -#}
select
    sales.employee_id,
    employees.store_id,
    employees.full_name,
    cast(sum(case when sales.is_sale then 1 else 0 end) as {{ type_int() }}) as orders,
    cast(sum(sales.net_revenue) as {{ type_money() }}) as net_revenue
from {{ ref('fact_sales') }} as sales
left join {{ ref('dim_employees') }} as employees on employees.employee_id = sales.employee_id
where {{ all_partitions('sales.transaction_date') }} and sales.employee_id is not null
group by sales.employee_id, employees.store_id, employees.full_name
