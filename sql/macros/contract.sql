{#- The landing contract (docs/contract.md), mirrored from retail_platform/lib/entities.py;
    a test keeps the two identical (test_landing_files.py). Every column is required in a
    landing file unless the entity lists it in 'optional' (a file may omit it; raw still has
    the column, null). 'references': (entity, column) pairs a valid row's column must name a
    key with a valid version of (validated_rows.sql known_key_checks, unknown_<column
    without _id>). -#}

{#- The dimension entities: merged across windows in silver (no partition of their own). -#}
{%- macro dimension_entities() -%}
  {{ return(['customers', 'products', 'stores', 'employees']) }}
{%- endmacro -%}

{%- macro contract_entities() -%}
  {{ return({
    'orders': {'key': ['order_id'], 'references': [('customers', 'customer_id'), ('stores', 'store_id')], 'columns': [
        ('order_id', 'string'), ('customer_id', 'string'), ('store_id', 'string'),
        ('employee_id', 'string'), ('channel', 'string'), ('status', 'string'),
        ('ordered_at', 'timestamp'), ('transaction_date', 'date'), ('updated_at', 'timestamp')]},
    'order_items': {'key': ['order_id', 'line_no'], 'optional': ['line_amount'], 'references': [('products', 'product_id')], 'columns': [
        ('order_id', 'string'), ('line_no', 'int'), ('product_id', 'string'), ('quantity', 'int'),
        ('unit_price', 'decimal'), ('discount_rate', 'rate'), ('line_amount', 'decimal'),
        ('transaction_date', 'date'), ('updated_at', 'timestamp')]},
    'customers': {'key': ['customer_id'], 'columns': [
        ('customer_id', 'string'), ('first_name', 'string'), ('last_name', 'string'),
        ('email', 'string'), ('city', 'string'), ('region', 'string'), ('loyalty_tier', 'string'),
        ('signup_date', 'date'), ('transaction_date', 'date'), ('updated_at', 'timestamp')]},
    'products': {'key': ['product_id'], 'columns': [
        ('product_id', 'string'), ('sku', 'string'), ('name', 'string'), ('category', 'string'),
        ('brand', 'string'), ('list_price', 'decimal'), ('unit_cost', 'decimal'),
        ('transaction_date', 'date'), ('updated_at', 'timestamp')]},
    'stores': {'key': ['store_id'], 'columns': [
        ('store_id', 'string'), ('name', 'string'), ('city', 'string'), ('region', 'string'),
        ('opened_on', 'date'), ('transaction_date', 'date'), ('updated_at', 'timestamp')]},
    'employees': {'key': ['employee_id'], 'references': [('stores', 'store_id')], 'columns': [
        ('employee_id', 'string'), ('store_id', 'string'), ('full_name', 'string'),
        ('role', 'string'), ('hired_on', 'date'), ('transaction_date', 'date'),
        ('updated_at', 'timestamp')]},
    'payments': {'key': ['payment_id'], 'references': [('orders', 'order_id')], 'columns': [
        ('payment_id', 'string'), ('order_id', 'string'), ('method', 'string'),
        ('status', 'string'), ('amount', 'decimal'), ('attempt', 'int'), ('paid_at', 'timestamp'),
        ('transaction_date', 'date'), ('updated_at', 'timestamp')]},
    'shipments': {'key': ['shipment_id'], 'references': [('orders', 'order_id')], 'columns': [
        ('shipment_id', 'string'), ('order_id', 'string'), ('carrier', 'string'),
        ('service_level', 'string'), ('shipped_at', 'timestamp'), ('promised_on', 'date'),
        ('delivered_at', 'timestamp'), ('status', 'string'), ('damaged', 'bool'),
        ('cost', 'decimal'), ('transaction_date', 'date'), ('updated_at', 'timestamp')]},
    'inventory': {'key': ['store_id', 'product_id', 'transaction_date'], 'references': [('products', 'product_id'), ('stores', 'store_id')], 'columns': [
        ('store_id', 'string'), ('product_id', 'string'), ('on_hand', 'int'),
        ('reorder_point', 'int'), ('received_qty', 'int'), ('damaged_qty', 'int'),
        ('transaction_date', 'date'), ('updated_at', 'timestamp')]},
  }) }}
{%- endmacro -%}

{%- macro typed_column(column, kind) -%}
  {%- if kind == 'string' -%} {{ column }}
  {%- elif kind == 'int' -%} {{ try_cast(column, type_int()) }}
  {%- elif kind == 'decimal' -%} {{ try_cast(column, type_money()) }}
  {%- elif kind == 'rate' -%} {{ try_cast(column, type_rate()) }}
  {%- elif kind == 'date' -%} {{ try_cast(column, 'date') }}
  {%- elif kind == 'timestamp' -%} {{ try_cast(column, 'timestamp') }}
  {%- elif kind == 'bool' -%} {{ try_cast(column, type_bool()) }}
  {%- else -%} {{ exceptions.raise_compiler_error("unknown contract type " ~ kind) }}
  {%- endif -%}
{%- endmacro -%}


{#- dbt's relationships test, reading the parent the way partitioned tables need
    (contract: no gold fact row refers to an order not in fact_sales, nor to a missing
    dimension row). The child is the run's window (`where: partition_window`, window.sql);
    the parent is read whole, bounded on transaction_date when it has one (BigQuery
    requires a partition filter on the gold facts), and only for the keys the child names,
    so a daily run looks up a day's keys, not the history's rows. Overrides dbt's
    default__test_relationships, for every relationships test of the project. -#}
{% macro default__test_relationships(model, column_name, to, field) %}
{%- set parent_columns = adapter.get_columns_in_relation(to) | map(attribute='name') | map('lower') | list if execute else [] -%}
with child as (
    select {{ column_name }} as from_field
    from {{ model }}
    where {{ column_name }} is not null
),

parent as (
    select {{ field }} as to_field
    from {{ to }}
    where {{ field }} in (select from_field from child)
    {%- if 'transaction_date' in parent_columns %}
        and {{ all_partitions('transaction_date') }}
    {%- endif %}
)

select
    from_field

from child
left join parent
    on child.from_field = parent.to_field

where parent.to_field is null
{% endmacro %}


{#- An RFM score (contract, agg_customer_segments): least(5, 1 + floor(5 x percent_rank()))
    over `order_by`, so equal values get equal scores. percent_rank() is (rank - 1) / (n - 1)
    as a float; 5 x it is exact where it should be an integer (m/5 for m = 1..4 times 5 is
    m in binary floating point), so floor() never lands one below. -#}
{%- macro rfm_score(order_by) -%}
least(5, 1 + cast(floor(5 * percent_rank() over (order by {{ order_by }})) as {{ type_int() }}))
{%- endmacro %}
